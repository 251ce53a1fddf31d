//! aws-sdk-devicefarm, unchanged, against a real `farmhand serve` process: the Rust SDK
//! signs, serialises and parses exactly as it does against AWS, so what passes here works
//! for a Rust user who only changes the endpoint.

use aws_credential_types::Credentials;
use aws_sdk_devicefarm::config::retry::RetryConfig;
use aws_sdk_devicefarm::config::{BehaviorVersion, Region};
use aws_sdk_devicefarm::error::ProvideErrorMetadata;
use aws_sdk_devicefarm::types::{
    DeviceFilter, DeviceFilterAttribute, DevicePlatform, DevicePoolType, Rule, RuleOperator, UploadCategory,
    UploadStatus, UploadType,
};
use aws_sdk_devicefarm::{Client, Config};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCESS_KEY_ID: &str = "AKIARUSTSDKTEST00001";
const SECRET_ACCESS_KEY: &str = "rust+sdk/secret0000000000000000000000000";
const REGION: &str = "us-west-2";

/// A running server in its own temporary data dir; SIGTERMed (and reaped) when dropped.
struct Server {
    child: Child,
    endpoint: String,
    _data_dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Server::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_farmhand"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .args(extra)
            .env_remove("FARMHAND_DATABASE_URL")
            .env_remove("FARMHAND_CONFIG")
            .env("FARMHAND_ROOT_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("FARMHAND_ROOT_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("farmhand starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (lines_tx, lines_rx) = mpsc::channel();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let first = lines_rx.recv_timeout(Duration::from_secs(60)).expect("farmhand prints its address");
        let endpoint = first
            .strip_prefix("farmhand listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .trim()
            .to_string();
        Server { child, endpoint, _data_dir: data_dir }
    }

    fn client(&self) -> Client {
        self.client_with(SECRET_ACCESS_KEY)
    }

    fn client_with(&self, secret: &str) -> Client {
        let config = Config::builder()
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(ACCESS_KEY_ID, secret, None, None, "farmhand-test"))
            .behavior_version(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    fn terminate(&mut self) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().expect("reaped")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36 && s == s.to_ascii_lowercase()
}

#[tokio::test]
async fn project_lifecycle_and_typed_not_found() {
    let mut server = Server::start();
    let client = server.client();

    let created = client.create_project().name("from-rust").send().await.expect("create");
    let project = created.project().expect("project");
    let arn = project.arn().expect("arn").to_string();
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    assert_eq!(parts[..4], ["arn", "aws", "devicefarm", REGION], "{arn}");
    assert_eq!(parts[4].len(), 12, "{arn}");
    let (kind, id) = parts[5].split_once(':').expect("kind:id");
    assert_eq!(kind, "project");
    assert!(is_uuid(id), "{arn}");
    assert_eq!(project.name(), Some("from-rust"));
    assert_eq!(project.default_job_timeout_minutes(), Some(150));
    let created_at = project.created().expect("created").secs();
    assert!((created_at - now_secs()).abs() < 300, "created {created_at}");

    let got = client.get_project().arn(&arn).send().await.expect("get");
    assert_eq!(got.project(), Some(project));

    let listed = client.list_projects().send().await.expect("list");
    assert!(listed.projects().iter().any(|p| p.arn() == Some(arn.as_str())));

    let updated =
        client.update_project().arn(&arn).name("renamed").default_job_timeout_minutes(60).send().await.expect("update");
    let updated = updated.project().expect("project");
    assert_eq!(updated.name(), Some("renamed"));
    assert_eq!(updated.default_job_timeout_minutes(), Some(60));

    client.delete_project().arn(&arn).send().await.expect("delete");
    let err = client.get_project().arn(&arn).send().await.expect_err("deleted").into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
    assert_eq!(err.code(), Some("NotFoundException"));
    assert!(err.message().is_some_and(|m| !m.is_empty()));

    assert!(server.terminate().success(), "SIGTERM ends farmhand with status 0");
}

#[tokio::test]
async fn invalid_input_is_a_typed_argument_exception() {
    let server = Server::start();
    let client = server.client();
    let err = client
        .create_project()
        .name("too-short")
        .default_job_timeout_minutes(3)
        .send()
        .await
        .expect_err("3 minutes is below the minimum")
        .into_service_error();
    assert!(err.is_argument_exception(), "{err:?}");
    let listed = client.list_projects().send().await.expect("list");
    assert!(listed.projects().is_empty(), "nothing was created");
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let server = Server::start();
    let err = server
        .client_with("not-the-secret-not-the-secret-not-the-sec")
        .list_projects()
        .send()
        .await
        .expect_err("bad signature");
    assert_eq!(err.code(), Some("InvalidSignatureException"), "{err:?}");
}

#[tokio::test]
async fn list_devices_with_a_filter() {
    let server = Server::start();
    let client = server.client();
    let all = client.list_devices().send().await.expect("list all");
    assert!(all.devices().len() >= 14);
    let ios = DeviceFilter::builder()
        .attribute(DeviceFilterAttribute::Platform)
        .operator(RuleOperator::Equals)
        .values("IOS")
        .build()
        .expect("complete filter");
    let filtered = client.list_devices().filters(ios).send().await.expect("list filtered");
    let expected = all.devices().iter().filter(|d| d.platform() == Some(&DevicePlatform::Ios)).count();
    assert!(expected > 0 && expected < all.devices().len());
    assert_eq!(filtered.devices().len(), expected);
    for device in filtered.devices() {
        assert_eq!(device.platform(), Some(&DevicePlatform::Ios));
        let arn = device.arn().expect("arn");
        let hex = arn.strip_prefix("arn:aws:devicefarm:us-west-2::device:").expect("account-less device ARN");
        assert!(hex.len() == 32 && hex.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{arn}");
        let got = client.get_device().arn(arn).send().await.expect("get device");
        assert_eq!(got.device(), Some(device));
    }
}

#[tokio::test]
async fn create_and_list_device_pools() {
    let server = Server::start();
    let client = server.client();
    let project = client.create_project().name("pools").send().await.expect("project");
    let project_arn = project.project().and_then(|p| p.arn()).expect("arn").to_string();
    let rule = Rule::builder()
        .attribute(aws_sdk_devicefarm::types::DeviceAttribute::Platform)
        .operator(RuleOperator::Equals)
        .value("\"ANDROID\"")
        .build();
    let created = client
        .create_device_pool()
        .project_arn(&project_arn)
        .name("android")
        .rules(rule.clone())
        .max_devices(2)
        .send()
        .await
        .expect("create pool");
    let pool = created.device_pool().expect("pool");
    let project_id = project_arn.rsplit(':').next().expect("id");
    let pool_arn = pool.arn().expect("arn");
    assert!(pool_arn.contains(&format!(":devicepool:{project_id}/")), "{pool_arn}");
    assert_eq!(pool.r#type(), Some(&DevicePoolType::Private));
    assert_eq!(pool.rules(), [rule]);
    assert_eq!(pool.max_devices(), Some(2));

    let listed = client.list_device_pools().arn(&project_arn).send().await.expect("list pools");
    assert!(listed.device_pools().iter().any(|p| p == pool));
    let curated: Vec<_> =
        listed.device_pools().iter().filter(|p| p.r#type() == Some(&DevicePoolType::Curated)).collect();
    assert!(!curated.is_empty());
    for p in curated {
        assert!(p.arn().is_some_and(|a| a.starts_with("arn:aws:devicefarm:us-west-2::devicepool:")), "{p:?}");
    }
}

/// `curl -T`: a plain HTTP/1.1 PUT of `body` to the presigned `url`; returns the status code.
async fn put(url: &str, body: &[u8]) -> u16 {
    let parsed = url::Url::parse(url).expect("upload URL");
    let host = parsed.host_str().expect("host");
    let port = parsed.port_or_known_default().expect("port");
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut stream = tokio::net::TcpStream::connect((host, port)).await.expect("connect");
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read response");
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line")
}

#[tokio::test]
async fn create_upload_put_and_poll() {
    let server = Server::start();
    let client = server.client();
    let project = client.create_project().name("uploads").send().await.expect("project");
    let project_arn = project.project().and_then(|p| p.arn()).expect("arn").to_string();
    let created = client
        .create_upload()
        .project_arn(&project_arn)
        .name("spec.yml")
        .r#type(UploadType::AppiumPythonTestSpec)
        .send()
        .await
        .expect("create upload");
    let upload = created.upload().expect("upload");
    assert_eq!(upload.status(), Some(&UploadStatus::Initialized));
    assert_eq!(upload.name(), Some("spec.yml"));
    assert_eq!(upload.r#type(), Some(&UploadType::AppiumPythonTestSpec));
    let arn = upload.arn().expect("arn").to_string();
    assert!(arn.starts_with("arn:aws:devicefarm:us-west-2:") && arn.contains(":upload:"), "{arn}");
    let url = upload.url().expect("presigned url");
    assert!(url.starts_with(&server.endpoint), "{url}");

    let spec = b"version: 0.1\nphases:\n  test:\n    commands:\n      - echo hello\n";
    assert_eq!(put(url, spec).await, 200);

    let mut status = UploadStatus::Processing;
    for _ in 0..300 {
        let got = client.get_upload().arn(&arn).send().await.expect("get upload");
        let upload = got.upload().expect("upload");
        status = upload.status().cloned().expect("status");
        if matches!(status, UploadStatus::Succeeded | UploadStatus::Failed) {
            assert_eq!(status, UploadStatus::Succeeded, "{:?}", upload.message());
            assert!(upload.url().is_none(), "no URL once the content is in");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, UploadStatus::Succeeded);
    let listed = client.list_uploads().arn(&project_arn).send().await.expect("list uploads");
    // Every project also lists the curated test specs.
    let own: Vec<_> = listed.uploads().iter().filter(|u| u.category() == Some(&UploadCategory::Private)).collect();
    assert_eq!(own.len(), 1);
    assert!(listed.uploads().iter().any(|u| u.category() == Some(&UploadCategory::Curated)));
}

/// A zip holding one stored (uncompressed) file: enough for a test package.
fn zip_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(name, options).expect("zip entry");
    std::io::Write::write_all(&mut zip, content).expect("zip content");
    zip.finish().expect("zip finish");
    buf.into_inner()
}

async fn wait_upload(client: &Client, arn: &str) {
    for _ in 0..300 {
        let got = client.get_upload().arn(arn).send().await.expect("get upload");
        match got.upload().and_then(|u| u.status()) {
            Some(UploadStatus::Succeeded) => return,
            Some(UploadStatus::Failed) => panic!("upload failed: {:?}", got.upload().and_then(|u| u.message())),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("upload never finished processing");
}

/// StopJob through the Rust SDK while the job is in its tests: the response says STOPPING
/// and carries the whole job; the test in progress completes and is billed, the next one
/// ends STOPPED, and teardown still runs.
#[tokio::test]
async fn stop_job_during_tests_bills_setup_the_running_test_and_teardown() {
    use aws_sdk_devicefarm::types::{
        DeviceSelectionConfiguration, ExecutionResult, ExecutionStatus, ScheduleRunTest, TestType,
    };
    // The stop grace (60 s) outlasts what is left of the second test, so it runs to its own
    // end and keeps its result; test_stop_job.py covers a test cut at stop + grace.
    let server = Server::start_with(&["--time-scale", "20", "--stop-grace-seconds", "60"]);
    let client = server.client();
    let project = client.create_project().name("runs").send().await.expect("project");
    let project_arn = project.project().and_then(|p| p.arn()).expect("arn").to_string();
    let scenario = b"setup_seconds: 2\nteardown_seconds: 1\ntests:\n  - {name: first, seconds: 3}\n  - {name: second, seconds: 30}\n  - {name: third, seconds: 10}\n";
    let created = client
        .create_upload()
        .project_arn(&project_arn)
        .name("tests.zip")
        .r#type(UploadType::AppiumWebPythonTestPackage)
        .send()
        .await
        .expect("create upload");
    let upload = created.upload().expect("upload");
    assert_eq!(put(upload.url().expect("url"), &zip_with("farmhand-sim.yaml", scenario)).await, 200);
    let package_arn = upload.arn().expect("arn").to_string();
    wait_upload(&client, &package_arn).await;

    let filter = DeviceFilter::builder()
        .attribute(DeviceFilterAttribute::Platform)
        .operator(RuleOperator::Equals)
        .values("ANDROID")
        .build()
        .expect("filter");
    let run = client
        .schedule_run()
        .project_arn(&project_arn)
        .test(
            ScheduleRunTest::builder()
                .r#type(TestType::AppiumWebPython)
                .test_package_arn(&package_arn)
                .build()
                .expect("test"),
        )
        .device_selection_configuration(
            DeviceSelectionConfiguration::builder().filters(filter).max_devices(1).build().expect("selection"),
        )
        .send()
        .await
        .expect("schedule run");
    let run_arn = run.run().and_then(|r| r.arn()).expect("run arn").to_string();
    assert_eq!(run.run().and_then(|r| r.total_jobs()), Some(1));
    let jobs = client.list_jobs().arn(&run_arn).send().await.expect("list jobs");
    let job_arn = jobs.jobs()[0].arn().expect("job arn").to_string();
    assert!(job_arn.ends_with("/00000"), "{job_arn}");

    // Wait for the second test to be running: setup and the first test are done.
    let suites = client.list_suites().arn(&job_arn).send().await.expect("suites");
    let tests_suite = suites.suites()[1].arn().expect("suite arn").to_string();
    for _ in 0..400 {
        let tests = client.list_tests().arn(&tests_suite).send().await.expect("tests");
        if tests.tests().get(1).and_then(|t| t.status()) == Some(&ExecutionStatus::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped = client.stop_job().arn(&job_arn).send().await.expect("stop job");
    let job = stopped.job().expect("the whole job");
    assert_eq!(job.status(), Some(&ExecutionStatus::Stopping));
    assert_eq!(job.arn(), Some(job_arn.as_str()));
    assert!(job.device().and_then(|d| d.cpu()).is_some() && job.instance_arn().is_some());
    assert!(job.device_minutes().is_some() && job.video_capture() == Some(true) && job.video_endpoint().is_some());

    let mut last = None;
    for _ in 0..600 {
        let got = client.get_job().arn(&job_arn).send().await.expect("get job");
        let job = got.job().expect("job").clone();
        if job.status() == Some(&ExecutionStatus::Completed) {
            last = Some(job);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = last.expect("the job completes");
    assert_eq!(job.result(), Some(&ExecutionResult::Stopped));
    let minutes = job.device_minutes().expect("minutes");
    // setup 2 s + first 3 s + second (in progress, runs to its end: 30 s) + teardown 1 s;
    // third never starts.
    assert_eq!(minutes.total(), Some(36.0 / 60.0));
    assert_eq!(minutes.metered(), Some(36.0 / 60.0));
    let counters = job.counters().expect("counters");
    assert_eq!((counters.total(), counters.passed(), counters.stopped()), (Some(5), Some(4), Some(1)));
}

#[tokio::test]
async fn remote_access_session_lifecycle() {
    use aws_sdk_devicefarm::types::{ExecutionResult, ExecutionStatus};
    let mut server = Server::start();
    let client = server.client();
    let project = client.create_project().name("remote").send().await.expect("project");
    let project = project.project().and_then(|p| p.arn()).expect("arn").to_string();
    let devices = client.list_devices().send().await.expect("devices");
    let enabled = devices.devices().iter().find(|d| d.remote_access_enabled() == Some(true)).expect("enabled");
    let disabled = devices.devices().iter().find(|d| d.remote_access_enabled() == Some(false)).expect("disabled");

    let refused = client
        .create_remote_access_session()
        .project_arn(&project)
        .device_arn(disabled.arn().expect("arn"))
        .send()
        .await
        .expect_err("not enabled")
        .into_service_error();
    assert!(refused.is_argument_exception(), "{refused:?}");

    let made = client
        .create_remote_access_session()
        .project_arn(&project)
        .device_arn(enabled.arn().expect("arn"))
        .name("from-rust")
        .send()
        .await
        .expect("create");
    let arn = made.remote_access_session().and_then(|s| s.arn()).expect("arn").to_string();
    let running = loop {
        let got = client.get_remote_access_session().arn(&arn).send().await.expect("get");
        let session = got.remote_access_session().expect("session").clone();
        if session.status() == Some(&ExecutionStatus::Running) {
            break session;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(running.name(), Some("from-rust"));
    assert!(running.endpoints().and_then(|e| e.interactive_endpoint()).is_some_and(|e| e.contains("/remote-access/")));
    assert!(running.device_udid().is_some() && running.instance_arn().is_some());
    let listed = client.list_remote_access_sessions().arn(&project).send().await.expect("list");
    assert_eq!(listed.remote_access_sessions().len(), 1);

    client.stop_remote_access_session().arn(&arn).send().await.expect("stop");
    let done = loop {
        let got = client.get_remote_access_session().arn(&arn).send().await.expect("get");
        let session = got.remote_access_session().expect("session").clone();
        if session.status() == Some(&ExecutionStatus::Completed) {
            break session;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done.result(), Some(&ExecutionResult::Stopped));
    assert!(done.device_minutes().and_then(|m| m.total()).is_some());
    client.delete_remote_access_session().arn(&arn).send().await.expect("delete");
    assert!(server.terminate().success(), "SIGTERM ends farmhand with status 0");
}
