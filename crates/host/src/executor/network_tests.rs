//! The executor gives a host job the network its run asks for: a job whose run has private
//! service names or a profile runs in a namespace of its own, a job without runs in the
//! host's, and a job whose network cannot be applied fails saying why (an Android
//! device's profile: `adb::network`'s tests). Needs root for the
//! namespaced case (CI runs as root); elsewhere that test says it was skipped.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use domain::device::{Driver, Fleet};
use domain::job::plan::JobPlan;
use domain::job::report::JobReport;
use domain::network::{JobNetwork, ServiceAlias};
use domain::run::{BillingMethod, Job, JobPhase, Run, WaitReason};

use super::Executor;
use crate::agent::{Assignment, JobLink, LinkError, Orders};
use crate::runner::netns::Support;
use crate::runner::{Runner, RunnerConfig};

const JOB: &str = "arn:aws:devicefarm:us-west-2:111122223333:job:5e01a8c7-c861-4c0a-b1d5-5ec6e2a7a1b6/0fcac17b-7a7b-4b2f-9b66-5a0b9f0e1234/00000";

/// Hands out one assignment and keeps what the executor sends back.
struct Link {
    assignment: Assignment,
    reports: Mutex<Vec<JobReport>>,
    output: Mutex<String>,
}

#[async_trait]
impl JobLink for Link {
    async fn orders(&self, _: &str) -> Result<Orders, LinkError> {
        Ok(Orders::default())
    }
    async fn assignment(&self, _: &str) -> Result<Assignment, LinkError> {
        Ok(self.assignment.clone())
    }
    async fn fetch_input(&self, _: &str, _: &str, _: &Path) -> Result<(), LinkError> {
        Err(LinkError::Gone("the job has no inputs".into()))
    }
    async fn report(&self, _: &str, report: JobReport) -> Result<(), LinkError> {
        self.reports.lock().map_err(|_| LinkError::Unavailable("poisoned".into()))?.push(report);
        Ok(())
    }
    async fn put_output(&self, _: &str, file: &Path) -> Result<(), LinkError> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        *self.output.lock().map_err(|_| LinkError::Unavailable("poisoned".into()))? = text;
        Ok(())
    }
    async fn put_artifact(&self, _: &str, index: u32, _: &Path) -> Result<String, LinkError> {
        Ok(format!("artifact-{index}"))
    }
}

fn assignment(driver: Driver, network: JobNetwork, commands: &[&str]) -> Assignment {
    let toml = r#"[fleet]
type = "PRIVATE"
name = "lab"

[[device]]
id = "bench"
name = "Host bench"
manufacturer = "Google"
model = "Host bench"
model_id = "HOST"
form_factor = "PHONE"
platform = "ANDROID"
os = "14"
cpu = { frequency = "MHz", architecture = "arm64-v8a", clock = 2850.0 }
resolution = { width = 1080, height = 2400 }
heap_size = 536870912
memory = 128000000000
image = "img"
radio = "WiFi"
remote_access_enabled = false
availability = "AVAILABLE"
driver = "host"

[[device.instance]]
udid = "bench-1"
"#;
    let fleet = Fleet::from_toml(toml, "us-west-2").expect("fleet");
    let device = fleet.devices()[0].clone();
    let run = Run {
        name: "network".into(),
        test_type: domain::upload::TestType::AppiumPython,
        platform: device.platform,
        app_arn: None,
        test_package_arn: None,
        test_spec_arn: None,
        device_pool_arn: None,
        billing_method: BillingMethod::Metered,
        job_timeout_minutes: 10,
        total_jobs: 1,
        device_selection: None,
        stop_requested_ms: None,
        stop_grace_ms: None,
        network,
        echo: serde_json::json!({}),
    };
    let job = Job {
        index: 0,
        test_type: run.test_type,
        instance_arn: device.instances.first().map(|i| i.arn.clone()),
        device,
        plan: JobPlan { setup_ms: 0, tests: Vec::new(), teardown_ms: 0 },
        billing_method: BillingMethod::Metered,
        timeout_minutes: 10,
        video_capture: false,
        phase: JobPhase::Active,
        wait_reason: WaitReason::Pending,
        assigned_ms: Some(0),
        stop_requested_ms: None,
        stop_grace_ms: None,
        settled_ms: None,
        driver,
        observed: None,
        artifacts: Vec::new(),
        customer_files: Vec::new(),
    };
    let commands: String = commands.iter().map(|c| format!("      - {c}\n")).collect();
    Assignment {
        job_arn: JOB.into(),
        account: "111122223333".into(),
        job,
        run_arn: JOB.rsplit_once('/').map(|(run, _)| run.replace(":job:", ":run:")).unwrap_or_default(),
        run,
        spec: Some(format!("version: 0.1\nphases:\n  test:\n    commands:\n{commands}")),
        package: None,
        app: None,
        app_package: None,
        time_scale: 1.0,
    }
}

/// Runs the assignment's job to its end; the reports and the job's output.
async fn execute(assignment: Assignment) -> (Vec<JobReport>, String) {
    let link = Arc::new(Link { assignment, reports: Mutex::default(), output: Mutex::default() });
    let work = tempfile::tempdir().expect("work dir");
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let executor = Arc::new(Executor::new(
        link.clone(),
        Runner::new(RunnerConfig::default(), Arc::new(Clock)),
        work.path().to_path_buf(),
        Arc::new(move || {
            let _ = done_tx.send(());
        }),
    ));
    executor.start(JOB.into());
    tokio::time::timeout(Duration::from_secs(60), done_rx.recv()).await.expect("the job ended");
    let reports = link.reports.lock().expect("reports").clone();
    let output = link.output.lock().expect("output").clone();
    (reports, output)
}

/// Instants for the reports: the test reads none of them.
struct Clock;

impl domain::clock::Clock for Clock {
    fn now_ms(&self) -> i64 {
        0
    }
}

fn our_namespace() -> String {
    std::fs::read_link("/proc/self/ns/net").expect("our namespace").display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_job_with_private_names_runs_in_its_own_network() {
    if let Support::Unavailable(why) = Support::probe() {
        eprintln!("skipped: job networks are unavailable here ({why})");
        return;
    }
    let network = JobNetwork {
        profile: None,
        aliases: vec![ServiceAlias { dns_name: "api.vpce.internal".into(), target: "127.0.0.1:8443".into() }],
    };
    let (reports, output) =
        execute(assignment(Driver::Host, network, &["getent hosts api.vpce.internal", "readlink /proc/self/ns/net"]))
            .await;
    assert!(matches!(reports.last(), Some(JobReport::Finished { .. })), "{reports:?}");
    assert!(output.lines().any(|l| l.starts_with("10.219.") && l.ends_with(" api.vpce.internal")), "{output}");
    assert!(output.contains("net:[") && !output.contains(&our_namespace()), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_job_without_a_network_runs_in_the_hosts() {
    let (reports, output) =
        execute(assignment(Driver::Host, JobNetwork::default(), &["readlink /proc/self/ns/net"])).await;
    assert!(matches!(reports.last(), Some(JobReport::Finished { .. })), "{reports:?}");
    assert!(output.contains(&our_namespace()), "{output}");
}

#[tokio::test]
async fn an_android_job_with_private_names_fails_saying_they_were_not_applied() {
    let network = JobNetwork {
        profile: None,
        aliases: vec![ServiceAlias { dns_name: "db.internal".into(), target: "10.0.0.5".into() }],
    };
    let (reports, _) = execute(assignment(Driver::Adb, network, &["true"])).await;
    let messages: Vec<String> = reports
        .iter()
        .filter_map(|r| match r {
            JobReport::Failed { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        ["farmhand could not run the job: The run's VPC endpoint configurations could not be applied: private service names work on host devices only"],
        "{reports:?}"
    );
}
