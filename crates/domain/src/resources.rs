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
    /// Variables every run of the project sees, in order.
    #[serde(default)]
    pub environment_variables: Vec<EnvironmentVariable>,
    #[serde(default)]
    pub execution_role_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    pub name: String,
    pub value: String,
}

/// Prefix reserved for the variables farmhand itself sets for test-spec commands (notes:
/// "Env vars for test-spec commands").
pub const RESERVED_VARIABLE_PREFIX: &str = "DEVICEFARM_";

/// Checks user-given variables: names must not use the reserved prefix or repeat.
pub fn check_environment_variables(vars: &[EnvironmentVariable]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for v in vars {
        if v.name.to_ascii_uppercase().starts_with(RESERVED_VARIABLE_PREFIX) {
            return Err(format!("Environment variable names may not start with {RESERVED_VARIABLE_PREFIX}: {}", v.name));
        }
        if !seen.insert(v.name.as_str()) {
            return Err(format!("Environment variable {} is given more than once", v.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str) -> EnvironmentVariable {
        EnvironmentVariable { name: name.into(), value: "v".into() }
    }

    #[test]
    fn reserved_and_repeated_variables_are_refused() {
        assert!(check_environment_variables(&[var("A"), var("B")]).is_ok());
        assert!(check_environment_variables(&[var("DEVICEFARM_X")]).is_err());
        assert!(check_environment_variables(&[var("devicefarm_x")]).is_err());
        assert!(check_environment_variables(&[var("A"), var("A")]).is_err());
    }
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
