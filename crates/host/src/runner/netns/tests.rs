//! Job networks for real: namespaces, TUN devices and nf_tables rules on this host, with
//! the job's commands run by the runner and a server on the host's loopback. Needs root
//! (CI runs as root); elsewhere each test says it was skipped.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::clock::Clock;
use domain::network::{JobNetwork, LinkShape, NetworkShape, ServiceAlias};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::runner::{CancelSignal, Canceller, JobEnv, Phase, PhaseOutcome, RunAs, Runner, RunnerConfig, Workspace};
use crate::uploads::InspectLimits;

struct TickClock(AtomicI64);

impl Clock for TickClock {
    fn now_ms(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

fn skipped() -> bool {
    match Support::probe() {
        Support::Available => false,
        Support::Unavailable(why) => {
            eprintln!("skipped: job networks are unavailable here ({why})");
            true
        }
    }
}

fn profile(uplink: LinkShape, downlink: LinkShape) -> JobNetwork {
    JobNetwork {
        profile: Some(NetworkShape {
            arn: "arn:aws:devicefarm:us-west-2:111122223333:networkprofile:p/n".into(),
            name: "test".into(),
            description: None,
            curated: false,
            uplink,
            downlink,
        }),
        aliases: Vec::new(),
    }
}

/// Runs `commands` as one phase in `namespace` (None: the host's network); its output.
async fn run_in(namespace: Option<&str>, run_as: Option<RunAs>, commands: &[String]) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = Workspace::create(tmp.path(), "job", None, None, &InspectLimits::default()).expect("workspace");
    if let Some(run_as) = run_as {
        run_as.hand_over(&ws).expect("handed over");
    }
    let mut env = JobEnv::new();
    env.set_workspace_paths(&ws);
    if let Some(namespace) = namespace {
        env.set_network_namespace(namespace);
    }
    let runner = Runner::new(
        RunnerConfig { grace: Duration::from_millis(200), run_as, ..RunnerConfig::default() },
        Arc::new(TickClock(AtomicI64::new(0))),
    );
    let (_canceller, signal): (Canceller, CancelSignal) = Canceller::new();
    let report = runner.run_phase(&ws, Phase::Test, commands, &env, signal).await;
    let output = std::fs::read_to_string(&report.log).unwrap_or_default();
    assert_eq!(report.outcome, PhaseOutcome::Succeeded, "{output}");
    output
}

/// A python3 one-liner run by the job's shell.
fn python(code: &str) -> String {
    format!("python3 -c '{code}'")
}

/// The number after `key=` in the job's output.
fn reading(output: &str, key: &str) -> f64 {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {output}"))
}

/// A server on the host's loopback that answers each connection with `reply`.
async fn loopback_server(reply: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let _ = stream.write_all(&reply).await;
                let _ = stream.shutdown().await;
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
            });
        }
    });
    port
}

/// Connects to `host:port`, reads to the end; prints the connect time and the whole time.
fn fetch(host: &str, port: u16) -> String {
    python(&format!(
        "import socket,time\n\
         t=time.monotonic(); s=socket.create_connection((\"{host}\",{port}),timeout=20); c=time.monotonic()-t\n\
         n=0\n\
         while True:\n\
         \x20   b=s.recv(65536)\n\
         \x20   if not b: break\n\
         \x20   n+=len(b)\n\
         print(\"connect_ms=%f\" % (c*1000)); print(\"total_ms=%f\" % ((time.monotonic()-t)*1000)); print(\"bytes=%d\" % n)"
    ))
}

fn exists(names: &Names) -> Vec<&'static str> {
    let mut left = Vec::new();
    if run("ip", &["netns", "list"], None)
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().next() == Some(&names.namespace))
    {
        left.push("namespace");
    }
    if run("ip", &["link", "show", &names.outer_tun], None).is_ok() {
        left.push("host TUN device");
    }
    if run("nft", &["list", "table", "ip", &names.table], None).is_ok() {
        left.push("nf_tables table");
    }
    if etc_dir(names).exists() {
        left.push("/etc/netns directory");
    }
    left
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_on_the_uplink_slows_a_round_trip_to_the_hosts_loopback() {
    if skipped() {
        return;
    }
    let port = loopback_server(b"hello".to_vec()).await;
    let delayed = LinkShape { delay_ms: 200, ..LinkShape::UNSHAPED };
    let net = JobNet::apply(&profile(delayed, LinkShape::UNSHAPED)).await.expect("applied");
    let output = run_in(Some(net.namespace()), None, &[fetch(HOST_NAME, port)]).await;
    net.remove().await;
    // The SYN waits 200 ms on the way up; the SYN-ACK comes straight back.
    assert!(reading(&output, "connect_ms") >= 200.0, "{output}");
    assert_eq!(reading(&output, "bytes"), 5.0, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downlink_bandwidth_caps_a_transfer() {
    if skipped() {
        return;
    }
    let size = 250_000;
    let port = loopback_server(vec![7u8; size]).await;
    let capped = LinkShape { bandwidth_bits: 1_000_000, ..LinkShape::UNSHAPED };
    let net = JobNet::apply(&profile(LinkShape::UNSHAPED, capped)).await.expect("applied");
    let output = run_in(Some(net.namespace()), None, &[fetch(HOST_NAME, port)]).await;
    net.remove().await;
    assert_eq!(reading(&output, "bytes"), size as f64, "{output}");
    // 2 Mbit at 1 Mbit/s: two seconds, whatever the headers and retransmissions add.
    assert!(reading(&output, "total_ms") >= 1900.0, "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_namespace_the_job_shares_the_hosts_network_unshaped() {
    if skipped() {
        return;
    }
    let port = loopback_server(vec![1u8; 250_000]).await;
    let commands = ["readlink /proc/self/ns/net".to_string(), fetch("127.0.0.1", port)];
    let output = run_in(None, None, &commands).await;
    let ours = std::fs::read_link("/proc/self/ns/net").expect("our namespace");
    assert!(output.contains(&ours.display().to_string()), "{output}");
    assert_eq!(reading(&output, "bytes"), 250_000.0, "{output}");
    assert!(reading(&output, "connect_ms") < 200.0, "{output}");

    let net = JobNet::apply(&profile(LinkShape::UNSHAPED, LinkShape::UNSHAPED)).await.expect("applied");
    let inside = run_in(Some(net.namespace()), None, &["readlink /proc/self/ns/net".to_string()]).await;
    net.remove().await;
    assert!(!inside.contains(&ours.display().to_string()), "{inside}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_service_names_reach_their_service_on_any_port() {
    if skipped() {
        return;
    }
    let port = loopback_server(b"private".to_vec()).await;
    let network = JobNetwork {
        profile: None,
        aliases: vec![ServiceAlias { dns_name: "api.vpce.internal".into(), target: format!("127.0.0.1:{port}") }],
    };
    let net = JobNet::apply(&network).await.expect("applied");
    let commands =
        ["getent hosts api.vpce.internal".to_string(), fetch("api.vpce.internal", 80), fetch("api.vpce.internal", 443)];
    let output = run_in(Some(net.namespace()), None, &commands).await;
    let address = net.names.alias_address(0).expect("address");
    net.remove().await;
    let resolved = output
        .lines()
        .find(|l| !l.starts_with("[farmhand]") && l.ends_with(" api.vpce.internal"))
        .and_then(|l| l.split_whitespace().next());
    assert_eq!(resolved, Some(address.to_string().as_str()), "{output}");
    assert_eq!(output.lines().filter(|l| *l == "bytes=7").count(), 2, "{output}");
    // Outside the job the name means nothing.
    assert!(run("getent", &["hosts", "api.vpce.internal"], None).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_as_user_runs_inside_the_namespace_as_that_user() {
    if skipped() {
        return;
    }
    let net = JobNet::apply(&profile(LinkShape::UNSHAPED, LinkShape::UNSHAPED)).await.expect("applied");
    let output = run_in(
        Some(net.namespace()),
        Some(RunAs { uid: 65534, gid: 65534 }),
        &["echo uid=$(id -u) groups=$(id -G)".into(), "readlink /proc/self/ns/net".into()],
    )
    .await;
    net.remove().await;
    assert!(output.contains("uid=65534 groups=65534\n"), "{output}");
    let ours = std::fs::read_link("/proc/self/ns/net").expect("our namespace");
    assert!(!output.contains(&ours.display().to_string()), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_network_leaves_nothing_and_a_crashed_ones_leftovers_are_swept() {
    if skipped() {
        return;
    }
    let net = JobNet::apply(&JobNetwork {
        profile: None,
        aliases: vec![ServiceAlias { dns_name: "a.internal".into(), target: "127.0.0.1".into() }],
    })
    .await
    .expect("applied");
    let names = net.names.clone();
    assert_eq!(exists(&names), ["namespace", "host TUN device", "nf_tables table", "/etc/netns directory"]);
    net.remove().await;
    assert!(exists(&names).is_empty(), "{:?}", exists(&names));

    // A crash: the pieces stay, and no process holds the slot any more.
    let slot = Slot::take().expect("slot");
    let names = slot.names();
    run("ip", &["netns", "add", &names.namespace], None).expect("namespace");
    run("nft", &["add", "table", "ip", &names.table], None).expect("table");
    std::fs::create_dir_all(etc_dir(&names)).expect("etc");
    drop(slot);
    assert!(sweep() >= 1);
    assert!(exists(&names).is_empty(), "{:?}", exists(&names));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_slot_is_not_swept() {
    if skipped() {
        return;
    }
    let net = JobNet::apply(&profile(LinkShape::UNSHAPED, LinkShape::UNSHAPED)).await.expect("applied");
    sweep();
    assert_eq!(exists(&net.names).len(), 4);
    net.remove().await;
}
