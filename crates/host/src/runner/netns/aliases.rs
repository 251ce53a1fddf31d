//! Private service names (VPC endpoint configurations) inside a job's network.
//!
//! **Decision: every name gets an address of its own in the job's subnet, and the host
//! forwards everything sent there to the service.** A hosts file can only map a name to an
//! address, but a `host:port` service must be reached on its port whatever port the test
//! dials (`https://name/` dials 443). So `name` resolves to a private address, and the
//! job's NAT table sends that address's TCP and UDP to `host:port` (to `host`, ports
//! unchanged, when no port is given). A service on the host's loopback is reachable too
//! (the host side allows `route_localnet`).

use std::net::{Ipv4Addr, SocketAddr};

use domain::network::ServiceAlias;

use super::slot::{Names, MAX_ALIASES};

/// The name the host's loopback has inside a job's network (the host's own services,
/// which a job outside a namespace reaches at 127.0.0.1).
pub const HOST_NAME: &str = "host.farmhand.internal";

/// A private service as the job's NAT rules forward it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forward {
    pub(crate) dns_name: String,
    /// The address the name resolves to inside the job's network.
    pub(crate) address: Ipv4Addr,
    pub(crate) target: Ipv4Addr,
    pub(crate) port: Option<u16>,
}

/// `host` or `host:port`, split.
fn split_target(target: &str) -> Result<(&str, Option<u16>), String> {
    match target.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{target:?}: {port:?} is not a port"))?;
            Ok((host, Some(port)))
        }
        Some(_) => Err(format!("{target:?}: IPv6 services are not supported")),
        None => Ok((target, None)),
    }
}

/// Resolves every alias's service on the host (names as the host's resolver sees them,
/// now, as the run was scheduled with them) and gives each its address.
pub(crate) async fn resolve(aliases: &[ServiceAlias], names: &Names) -> Result<Vec<Forward>, String> {
    if aliases.len() > MAX_ALIASES {
        return Err(format!("{} private service names, at most {MAX_ALIASES} fit a job's network", aliases.len()));
    }
    let mut forwards = Vec::with_capacity(aliases.len());
    for (index, alias) in aliases.iter().enumerate() {
        let (host, port) = split_target(alias.target.trim())?;
        let target = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip,
            Err(_) => tokio::net::lookup_host((host, port.unwrap_or(0)))
                .await
                .map_err(|e| format!("resolving {host:?} for {:?}: {e}", alias.dns_name))?
                .find_map(|a| match a {
                    SocketAddr::V4(v4) => Some(*v4.ip()),
                    SocketAddr::V6(_) => None,
                })
                .ok_or_else(|| format!("{host:?} (for {:?}) has no IPv4 address", alias.dns_name))?,
        };
        let address = names.alias_address(index).ok_or("too many private service names")?;
        forwards.push(Forward { dns_name: alias.dns_name.clone(), address, target, port });
    }
    Ok(forwards)
}

/// The job's `/etc/hosts`: the host's own, then the host's loopback name and the private
/// service names. Later lines do not override earlier ones in glibc, so a private name
/// that the host's file also lists must come first.
pub(crate) fn hosts_file(host_hosts: &str, names: &Names, forwards: &[Forward]) -> String {
    let mut text = String::new();
    for forward in forwards {
        text.push_str(&format!("{}\t{}\n", forward.address, forward.dns_name));
    }
    text.push_str(&format!("{}\t{HOST_NAME}\n", names.host_address));
    text.push_str(host_hosts);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(name: &str, target: &str) -> ServiceAlias {
        ServiceAlias { dns_name: name.into(), target: target.into() }
    }

    #[test]
    fn targets_split_into_host_and_optional_port() {
        assert_eq!(split_target("10.0.0.5"), Ok(("10.0.0.5", None)));
        assert_eq!(split_target("svc.local:8443"), Ok(("svc.local", Some(8443))));
        assert!(split_target("svc:0").is_err());
        assert!(split_target("svc:http").is_err());
        assert!(split_target("[::1]:80").is_err());
    }

    #[tokio::test]
    async fn each_name_gets_its_own_address_and_comes_first_in_hosts() {
        let names = Names::of(3);
        let forwards =
            resolve(&[alias("api.example.com", "127.0.0.1:8080"), alias("db.example.com", "localhost")], &names)
                .await
                .expect("resolved");
        assert_eq!(
            forwards[0],
            Forward {
                dns_name: "api.example.com".into(),
                address: Ipv4Addr::new(10, 219, 0, 99),
                target: Ipv4Addr::LOCALHOST,
                port: Some(8080)
            }
        );
        assert_eq!(
            (forwards[1].address, forwards[1].target, forwards[1].port),
            (Ipv4Addr::new(10, 219, 0, 100), Ipv4Addr::LOCALHOST, None)
        );
        let hosts = hosts_file("127.0.0.1\tlocalhost\n10.0.0.1 api.example.com", &names, &forwards);
        assert_eq!(
            hosts,
            "10.219.0.99\tapi.example.com\n10.219.0.100\tdb.example.com\n10.219.0.97\thost.farmhand.internal\n127.0.0.1\tlocalhost\n10.0.0.1 api.example.com\n"
        );
    }

    #[tokio::test]
    async fn too_many_names_or_a_bad_target_are_refused() {
        let names = Names::of(0);
        let many: Vec<_> = (0..=MAX_ALIASES).map(|i| alias(&format!("s{i}"), "10.0.0.1")).collect();
        assert!(resolve(&many, &names).await.is_err());
        assert!(resolve(&[alias("s", "10.0.0.1:99999")], &names).await.is_err());
    }
}
