//! The stored form of the account-owned resources the API creates directly: projects,
//! device pools and uploads. Their ARN, owner and creation time live beside them in the
//! store's record; these structs hold the rest.

use crate::device::Rule;
use crate::upload::{UploadCategory, UploadStatus, UploadType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    pub default_job_timeout_minutes: Option<i32>,
    pub vpc_config: Option<VpcConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VpcConfig {
    pub security_group_ids: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub vpc_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DevicePool {
    pub name: String,
    pub description: Option<String>,
    pub rules: Vec<Rule>,
    pub max_devices: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    pub name: String,
    pub upload_type: UploadType,
    pub status: UploadStatus,
    pub category: UploadCategory,
    pub content_type: Option<String>,
    /// JSON text, as AWS returns it, describing what inspection found (package name…).
    pub metadata: Option<String>,
    /// Why processing failed, for FAILED uploads.
    pub message: Option<String>,
    /// The presigned PUT URL; only it can write this upload's content.
    pub url: String,
    /// After this the presigned PUT URL is refused.
    pub url_expires_ms: i64,
    pub size_bytes: Option<u64>,
}
