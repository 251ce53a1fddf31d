//! The job's resolver. A host whose `/etc/resolv.conf` names a resolver on its loopback
//! (systemd-resolved's 127.0.0.53, a local dnsmasq) would leave the job without DNS: inside
//! the namespace that address is the job's own loopback. Such a job gets a resolv.conf
//! naming the host side's address instead, and the job's NAT sends port 53 there on to the
//! host's resolver. Any other resolver is reached through the masquerade as it is.

use std::net::Ipv4Addr;

use super::slot::Names;

/// The host's first resolver, when it is on the loopback.
pub(crate) fn loopback_resolver(host_resolv: &str) -> Option<Ipv4Addr> {
    let first = host_resolv.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("nameserver")).then(|| words.next()).flatten()
    })?;
    first.parse::<Ipv4Addr>().ok().filter(Ipv4Addr::is_loopback)
}

/// The job's resolv.conf for a host whose resolver is on the loopback: the host's file
/// with its loopback nameservers replaced by the host side's address (once).
pub(crate) fn resolv_conf(host_resolv: &str, names: &Names) -> String {
    let mut text = format!("nameserver {}\n", names.host_address);
    for line in host_resolv.lines() {
        let mut words = line.split_whitespace();
        let loopback = words.next() == Some("nameserver")
            && words.next().and_then(|a| a.parse::<Ipv4Addr>().ok()).is_some_and(|a| a.is_loopback());
        if !loopback {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_resolver_is_replaced() {
        let resolved = "# systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
        assert_eq!(loopback_resolver(resolved), Some(Ipv4Addr::new(127, 0, 0, 53)));
        assert_eq!(
            resolv_conf(resolved, &Names::of(0)),
            "nameserver 10.219.0.1\n# systemd-resolved\noptions edns0 trust-ad\nsearch lan\n"
        );
        assert_eq!(loopback_resolver("nameserver 10.255.255.53\nnameserver 127.0.0.1\n"), None);
        assert_eq!(loopback_resolver(""), None);
    }
}
