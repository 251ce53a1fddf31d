//! VPC endpoint configurations (CreateVPCEConfiguration): an account's names for private
//! services. Self-hosted, a configuration means: inside a host job's network,
//! `serviceDnsName` resolves to `vpceServiceName` when that is an address. A run copies
//! each one it names into [`crate::network::ServiceAlias`] when it is scheduled.

use crate::network::ServiceAlias;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpceConfiguration {
    pub name: String,
    pub service_name: String,
    pub service_dns_name: String,
    pub description: Option<String>,
}

impl VpceConfiguration {
    /// The rules beyond the model's lengths: a name to manage it by, a service to reach,
    /// and a DNS name a resolver can answer for (a host maps it to the service).
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("vpceConfigurationName must not be empty".to_string());
        }
        if self.service_name.trim().is_empty() {
            return Err("vpceServiceName must not be empty".to_string());
        }
        if !is_dns_name(&self.service_dns_name) {
            return Err(format!("serviceDnsName '{}' is not a valid DNS name", self.service_dns_name));
        }
        Ok(())
    }

    pub fn alias(&self) -> ServiceAlias {
        ServiceAlias { dns_name: self.service_dns_name.clone(), target: self.service_name.clone() }
    }
}

/// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, each
/// 1–63 characters, 253 in all; one trailing dot (the absolute form) is allowed. Written
/// here because it is these few lines, and the rule must match what the host's resolver
/// will be asked.
pub fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dns: &str) -> VpceConfiguration {
        VpceConfiguration {
            name: "db".into(),
            service_name: "10.0.0.5:5432".into(),
            service_dns_name: dns.into(),
            description: None,
        }
    }

    #[test]
    fn dns_names_follow_rfc_1123() {
        for good in ["db.internal", "api.example.com.", "a", "x-1.y2", &format!("{}.com", "a".repeat(63))] {
            assert!(is_dns_name(good), "{good}");
        }
        for bad in
            ["", ".", "a..b", "-a.b", "a-.b", "a_b.c", "a b", &format!("{}.com", "a".repeat(64)), &"a.".repeat(128)]
        {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_configuration_needs_a_name_a_service_and_a_dns_name() {
        assert!(config("db.internal").check().is_ok());
        assert!(config("not a name").check().is_err());
        assert!(VpceConfiguration { name: "".into(), ..config("db.internal") }.check().is_err());
        assert!(VpceConfiguration { service_name: " ".into(), ..config("db.internal") }.check().is_err());
    }

    #[test]
    fn the_alias_maps_the_dns_name_to_the_service() {
        let alias = config("db.internal").alias();
        assert_eq!((alias.dns_name.as_str(), alias.target.as_str()), ("db.internal", "10.0.0.5:5432"));
    }
}
