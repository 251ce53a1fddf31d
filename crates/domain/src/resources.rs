//! The stored form of the account-owned resources the API creates directly: projects,
//! device pools, uploads, instance profiles and an account's settings for a shared fleet
//! instance. Their ARN, owner and creation time live beside them in the store's record;
//! these structs hold the rest.

use crate::arn::{Arn, ResourceKind};
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
            return Err(format!(
                "Environment variable names may not start with {RESERVED_VARIABLE_PREFIX}: {}",
                v.name
            ));
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

impl VpcConfig {
    /// The model types these members as plain strings but names their forms in its own
    /// `SecurityGroupId` and `SubnetId` shapes (`sg-` / `subnet-` and at least 8 hex
    /// digits); a VPC id has the same form with `vpc-`.
    pub fn check(&self) -> Result<(), String> {
        for (field, prefix, ids) in [
            ("securityGroupIds", "sg-", &self.security_group_ids),
            ("subnetIds", "subnet-", &self.subnet_ids),
            ("vpcId", "vpc-", &vec![self.vpc_id.clone()]),
        ] {
            if let Some(bad) = ids.iter().find(|id| !is_aws_id(id, prefix)) {
                return Err(format!("vpcConfig.{field}: '{bad}' is not of the form {prefix}<at least 8 hex digits>"));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = ids.iter().find(|id| !seen.insert(id.as_str())) {
                return Err(format!("vpcConfig.{field}: '{dup}' is given twice"));
            }
        }
        Ok(())
    }
}

fn is_aws_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| hex.len() >= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
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

/// An account's instance profile (CreateInstanceProfile): what happens to a private device
/// instance between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub name: String,
    pub description: Option<String>,
    pub package_cleanup: bool,
    /// Only meaningful when `package_cleanup` is set; kept either way, as given.
    pub exclude_app_packages_from_cleanup: Vec<String>,
    pub reboot_after_use: bool,
}

impl InstanceProfile {
    /// The service model's defaults: no package cleanup on private devices, reboot after use.
    pub const DEFAULT_PACKAGE_CLEANUP: bool = false;
    pub const DEFAULT_REBOOT_AFTER_USE: bool = true;

    /// The profile as device instances carry it.
    pub fn to_device_profile(&self, arn: &str) -> crate::device::InstanceProfile {
        crate::device::InstanceProfile {
            arn: arn.to_string(),
            package_cleanup: self.package_cleanup,
            exclude_app_packages_from_cleanup: self.exclude_app_packages_from_cleanup.clone(),
            reboot_after_use: self.reboot_after_use,
            name: self.name.clone(),
            description: self.description.clone(),
        }
    }
}

/// One account's settings for a fleet device instance (UpdateDeviceInstance). The fleet is
/// shared by every account, so what one account sets is kept beside the fleet, per account,
/// and only that account sees it. `None` leaves the fleet file's value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceInstanceSettings {
    pub labels: Option<Vec<String>>,
    /// An instance profile of the account (or one the fleet file gives the account).
    pub profile_arn: Option<String>,
}

/// The key of an account's [`DeviceInstanceSettings`] for an instance: the instance ARN with
/// the account filled in. Instance ARNs carry no account, so the key cannot collide with the
/// instance itself or with another account's settings. `None` when `instance_arn` is not a
/// device instance ARN.
pub fn device_instance_settings_arn(instance_arn: &str, account: &str) -> Option<Arn> {
    let arn: Arn = instance_arn.parse().ok()?;
    (arn.kind == ResourceKind::DeviceInstance)
        .then(|| Arn::new(&arn.region, account, ResourceKind::DeviceInstance, arn.id))
}

#[cfg(test)]
mod instance_tests {
    use super::*;

    const INSTANCE: &str = "arn:aws:devicefarm:us-west-2::deviceinstance:4f3c1c4e-6a55-4d7c-9a43-111122223333";

    #[test]
    fn settings_are_keyed_per_account() {
        let a = device_instance_settings_arn(INSTANCE, "111111111111").expect("an instance ARN");
        let b = device_instance_settings_arn(INSTANCE, "222222222222").expect("an instance ARN");
        assert_eq!(
            a.to_string(),
            "arn:aws:devicefarm:us-west-2:111111111111:deviceinstance:4f3c1c4e-6a55-4d7c-9a43-111122223333"
        );
        assert_ne!(a, b);
        assert_ne!(a.to_string(), INSTANCE);
        assert!(device_instance_settings_arn("arn:aws:devicefarm:us-west-2::device:ABC", "111111111111").is_none());
    }

    #[test]
    fn a_profile_keeps_every_field_on_the_instance() {
        let profile = InstanceProfile {
            name: "clean".into(),
            description: Some("wipe".into()),
            package_cleanup: true,
            exclude_app_packages_from_cleanup: vec!["com.keep".into()],
            reboot_after_use: false,
        };
        let on_device = profile.to_device_profile("arn:x");
        assert_eq!(on_device.arn, "arn:x");
        assert_eq!(on_device.name, "clean");
        assert_eq!(on_device.description.as_deref(), Some("wipe"));
        assert!(on_device.package_cleanup && !on_device.reboot_after_use);
        assert_eq!(on_device.exclude_app_packages_from_cleanup, ["com.keep"]);
    }
}

#[cfg(test)]
mod vpc_tests {
    use super::*;

    #[test]
    fn vpc_config_ids_have_aws_forms() {
        let good = VpcConfig {
            security_group_ids: vec!["sg-0123abcd".into()],
            subnet_ids: vec!["subnet-89abcdef01".into()],
            vpc_id: "vpc-deadbeef".into(),
        };
        assert_eq!(good.check(), Ok(()));
        let bad_sg = VpcConfig { security_group_ids: vec!["sg-12".into()], ..good.clone() };
        assert!(bad_sg.check().unwrap_err().contains("securityGroupIds"));
        let bad_vpc = VpcConfig { vpc_id: "vpc_deadbeef".into(), ..good.clone() };
        assert!(bad_vpc.check().unwrap_err().contains("vpcId"));
        let dup = VpcConfig { subnet_ids: vec!["subnet-89abcdef".into(), "subnet-89abcdef".into()], ..good };
        assert!(dup.check().unwrap_err().contains("twice"));
    }
}
