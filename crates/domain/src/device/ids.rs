//! Deterministic ARNs for fleet-defined things: devices, device instances and instance
//! profiles; and the account-less ARN form of curated pools.
//!
//! The fleet is re-read from its TOML at every start, yet runs, jobs and user pools
//! stored earlier refer to devices by ARN, so these ARNs must come out the same each
//! time. They are name-based UUIDs (v5) under a farmhand namespace, computed from the
//! stable ids the fleet file gives — never from position or a random source.

use uuid::Uuid;

/// farmhand's namespace for name-based ids. Changing it would change every device ARN.
const NAMESPACE: Uuid = Uuid::from_u128(0x1a0e_0aa8_cd4b_72a0_9252_f1af_4419_df00);

const PREFIX: &str = "arn:aws:devicefarm:";

fn name_based(kind: &str, parts: &[&str]) -> Uuid {
    // A separator that cannot appear in a TOML id keeps ("a/b","c") and ("a","b/c")
    // apart; NUL is such a separator.
    let mut name = String::from(kind);
    for part in parts {
        name.push('\0');
        name.push_str(part);
    }
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

/// The 32 upper-case hex digits after `device:` for the device with this fleet id.
pub fn device_arn_id(device_id: &str) -> String {
    let mut hex = name_based("device", &[device_id]).simple().to_string();
    hex.make_ascii_uppercase();
    hex
}

/// `arn:aws:devicefarm:REGION::device:HEX`.
pub fn device_arn(region: &str, arn_id: &str) -> String {
    format!("{PREFIX}{region}::device:{arn_id}")
}

/// `arn:aws:devicefarm:REGION::deviceinstance:UUID`, from the device's fleet id and
/// the unit's UDID (unique and stable for a physical unit).
pub fn device_instance_arn(region: &str, device_id: &str, udid: &str) -> String {
    let id = name_based("deviceinstance", &[device_id, udid]);
    format!("{PREFIX}{region}::deviceinstance:{id}")
}

/// `arn:aws:devicefarm:REGION:ACCOUNT:instanceprofile:UUID`. A fleet file that names
/// no account gets the account-less form `REGION::instanceprofile:UUID`, as AWS uses
/// for the other resources it owns (devices, curated pools).
pub fn instance_profile_arn(region: &str, account: Option<&str>, profile_id: &str) -> String {
    let id = name_based("instanceprofile", &[profile_id]);
    let account = account.unwrap_or("");
    format!("{PREFIX}{region}:{account}:instanceprofile:{id}")
}

/// `arn:aws:devicefarm:REGION::devicepool:ID` for the curated pool with this id.
pub fn curated_pool_arn(region: &str, id: &str) -> String {
    format!("{PREFIX}{region}::devicepool:{id}")
}

/// `arn:aws:devicefarm:REGION::networkprofile:UUID` for the curated network profile of
/// this name: account-less like the curated pool, and stable so stored runs and scripts
/// keep finding it.
pub fn curated_network_profile_arn(region: &str, profile_name: &str) -> String {
    let id = name_based("networkprofile", &[profile_name]);
    format!("{PREFIX}{region}::networkprofile:{id}")
}

/// Whether `s` is a valid explicit device `arn_id`: 32 upper-case hex digits.
pub fn is_device_arn_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_arn_is_stable_upper_hex_and_depends_on_the_id() {
        let a = device_arn_id("pixel-8");
        assert_eq!(a, device_arn_id("pixel-8"));
        assert_ne!(a, device_arn_id("pixel-7"));
        assert!(is_device_arn_id(&a), "{a}");
        assert_eq!(device_arn("us-west-2", &a), format!("arn:aws:devicefarm:us-west-2::device:{a}"));
    }

    #[test]
    fn parts_are_kept_apart() {
        assert_ne!(device_instance_arn("r", "a/b", "c"), device_instance_arn("r", "a", "b/c"));
        assert_ne!(device_instance_arn("r", "ab", "c"), device_instance_arn("r", "a", "bc"));
    }

    #[test]
    fn arn_shapes() {
        let inst = device_instance_arn("us-west-2", "pixel-8", "38181FDJH000AB");
        let uuid = inst.strip_prefix("arn:aws:devicefarm:us-west-2::deviceinstance:").expect("prefix");
        assert!(Uuid::parse_str(uuid).is_ok(), "{inst}");
        assert!(instance_profile_arn("us-west-2", Some("123456789012"), "p")
            .starts_with("arn:aws:devicefarm:us-west-2:123456789012:instanceprofile:"));
        assert!(
            instance_profile_arn("us-west-2", None, "p").starts_with("arn:aws:devicefarm:us-west-2::instanceprofile:")
        );
        assert_eq!(curated_pool_arn("eu-west-1", "0a"), "arn:aws:devicefarm:eu-west-1::devicepool:0a");
        let full = curated_network_profile_arn("eu-west-1", "Full");
        assert!(full.starts_with("arn:aws:devicefarm:eu-west-1::networkprofile:"), "{full}");
        assert!(full.parse::<crate::arn::Arn>().is_ok(), "{full}");
        assert_ne!(full, curated_network_profile_arn("eu-west-1", "3G Good"));
    }

    #[test]
    fn explicit_arn_ids_must_be_32_upper_hex() {
        assert!(is_device_arn_id("A0E6E6E1059E45918208DF75B2B7EF6C"));
        assert!(!is_device_arn_id("a0e6e6e1059e45918208df75b2b7ef6c"));
        assert!(!is_device_arn_id("A0E6E6E1059E45918208DF75B2B7EF6"));
        assert!(!is_device_arn_id("G0E6E6E1059E45918208DF75B2B7EF6C"));
    }
}
