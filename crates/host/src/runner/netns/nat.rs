//! The job's nf_tables table: masquerade so the job reaches the network from the host's
//! address as before, the host's loopback at the host side's address, and the private
//! services at their addresses. One table per job (`ip farmhand_<slot>`), so removing the
//! job's rules is deleting its table and never touches anyone else's.

use std::net::Ipv4Addr;

use super::aliases::Forward;
use super::slot::Names;

/// The ruleset `nft -f` loads for the job. `resolver`: the host's loopback resolver, which
/// the job reaches at the host side's port 53 (see [`super::dns`]).
pub(crate) fn ruleset(names: &Names, forwards: &[Forward], resolver: Option<Ipv4Addr>) -> String {
    let Names { table, outer_tun, host_address, job_address, .. } = names;
    let mut prerouting = String::new();
    if let Some(resolver) = resolver {
        prerouting.push_str(&format!("\t\tiifname \"{outer_tun}\" ip daddr {host_address} meta l4proto {{ tcp, udp }} th dport 53 dnat to {resolver}:53\n"));
    }
    prerouting.push_str(&format!("\t\tiifname \"{outer_tun}\" ip daddr {host_address} dnat to 127.0.0.1\n"));
    for forward in forwards {
        let (address, target) = (forward.address, forward.target);
        let rule = match forward.port {
            Some(port) => format!(
                "\t\tiifname \"{outer_tun}\" ip daddr {address} meta l4proto {{ tcp, udp }} dnat to {target}:{port}\n"
            ),
            None => format!("\t\tiifname \"{outer_tun}\" ip daddr {address} dnat to {target}\n"),
        };
        prerouting.push_str(&rule);
    }
    format!(
        "table ip {table} {{\n\
         \tchain prerouting {{\n\
         \t\ttype nat hook prerouting priority dstnat; policy accept;\n\
         {prerouting}\
         \t}}\n\
         \tchain postrouting {{\n\
         \t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\tip saddr {job_address} oifname != \"{outer_tun}\" masquerade\n\
         \t}}\n\
         }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_services_and_masquerade() {
        let names = Names::of(0);
        let forwards = [
            Forward {
                dns_name: "a".into(),
                address: Ipv4Addr::new(10, 219, 0, 3),
                target: Ipv4Addr::LOCALHOST,
                port: Some(8080),
            },
            Forward {
                dns_name: "b".into(),
                address: Ipv4Addr::new(10, 219, 0, 4),
                target: Ipv4Addr::new(192, 168, 1, 9),
                port: None,
            },
        ];
        let text = ruleset(&names, &forwards, None);
        assert!(text.starts_with("table ip farmhand_0 {\n"), "{text}");
        assert!(text.contains("iifname \"fh0h\" ip daddr 10.219.0.1 dnat to 127.0.0.1\n"), "{text}");
        assert!(text.contains("ip daddr 10.219.0.3 meta l4proto { tcp, udp } dnat to 127.0.0.1:8080\n"), "{text}");
        assert!(text.contains("ip daddr 10.219.0.4 dnat to 192.168.1.9\n"), "{text}");
        assert!(text.contains("ip saddr 10.219.0.2 oifname != \"fh0h\" masquerade\n"), "{text}");
        assert!(!text.contains("dport 53"), "{text}");
    }

    #[test]
    fn a_loopback_resolver_is_reached_at_the_host_sides_port_53_first() {
        let text = ruleset(&Names::of(0), &[], Some(Ipv4Addr::new(127, 0, 0, 53)));
        let dns = "iifname \"fh0h\" ip daddr 10.219.0.1 meta l4proto { tcp, udp } th dport 53 dnat to 127.0.0.53:53\n";
        let position = |rule: &str| text.find(rule).unwrap_or_else(|| panic!("{rule} missing from {text}"));
        assert!(position(dns) < position("ip daddr 10.219.0.1 dnat to 127.0.0.1\n"));
    }
}
