//! The service in process, as the operations see it: a temporary SQLite store, the demo
//! fleet, the scheduler running, and calls made through `api::dispatch` under one account
//! (no HTTP, no SigV4: the wire is the Python suite's job). Uploads' content goes through the
//! router, as a client's presigned PUT does.

#![allow(dead_code)] // each test binary uses its own part of it

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use clap::Parser;
use domain::account::{Account, AccountSettings};
use protocol::model::Operation;
use protocol::ApiError;
use serde_json::{json, Value};
use server::api::Ctx;
use server::config::ServeArgs;
use server::AppState;
use tower::ServiceExt;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

pub struct Farm {
    pub state: Arc<AppState>,
    app: axum::Router,
    pub ctx: Ctx,
    stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

pub const ACCOUNT: &str = "123456789012";

impl Farm {
    /// A farm whose service clock runs `time_scale` times faster than real time.
    pub async fn start(time_scale: f64, extra: &[&str]) -> Farm {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().to_str().expect("utf-8 path").to_owned();
        let scale = time_scale.to_string();
        let mut args = vec!["serve", "--data-dir", &data_dir, "--listen", "127.0.0.1:0", "--time-scale", &scale];
        args.extend_from_slice(extra);
        let config = Cli::try_parse_from(args).expect("flags").serve.resolve().expect("config");
        let (state, app) = server::in_process(&config).await.expect("the service");
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let mut sessions_stopped = stopped.clone();
        tokio::spawn(state.engine.clone().run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        tokio::spawn(state.remote_access.clone().run(state.clone(), async move {
            let _ = sessions_stopped.wait_for(|s| *s).await;
        }));
        let account = Account {
            id: ACCOUNT.into(),
            name: "in-process".into(),
            created_ms: state.now_ms(),
            settings: AccountSettings::default(),
        };
        state.store.create_account(&account).await.expect("account");
        let ctx = Ctx { state: state.clone(), account };
        Farm { state, app, ctx, stop, _dir: dir }
    }

    /// Changes the account's settings, as `farmhand account update` does.
    pub async fn settings(&mut self, change: impl FnOnce(&mut AccountSettings)) {
        change(&mut self.ctx.account.settings);
        self.state.store.update_account_settings(ACCOUNT, &self.ctx.account.settings).await.expect("settings");
    }

    /// The operation `name` with `input`, as its JSON output.
    pub async fn call(&self, name: &str, input: Value) -> Result<Value, ApiError> {
        let op = Operation::from_name(name).unwrap_or_else(|| panic!("no operation {name}"));
        let out = server::api::dispatch(&self.ctx, op, input.to_string().as_bytes()).await?;
        Ok(serde_json::from_slice(&out).expect("JSON output"))
    }

    pub async fn ok(&self, name: &str, input: Value) -> Value {
        self.call(name, input.clone()).await.unwrap_or_else(|e| panic!("{name}({input}): {e:?}"))
    }

    /// The error code `name` answers `input` with.
    pub async fn error(&self, name: &str, input: Value) -> String {
        match self.call(name, input).await {
            Ok(out) => panic!("{name} answered {out}, not an error"),
            Err(e) => e.code.as_str().to_owned(),
        }
    }

    /// PUTs `body` to a presigned upload URL through the router.
    pub async fn put(&self, url: &str, body: Vec<u8>) -> u16 {
        let rest = url.split_once("://").expect("a URL").1;
        let (host, path) = rest.split_at(rest.find('/').expect("a path"));
        // The URL signs its host, as S3's presigned URLs do.
        let request = http::Request::put(path).header("host", host).body(Body::from(body)).expect("request");
        self.app.clone().oneshot(request).await.expect("response").status().as_u16()
    }

    pub async fn project(&self, name: &str) -> String {
        self.ok("CreateProject", json!({"name": name})).await["project"]["arn"].as_str().expect("arn").to_owned()
    }

    /// A SUCCEEDED test package for the simulated devices, playing `scenario`.
    pub async fn package(&self, project: &str, scenario: &str) -> String {
        let upload = self
            .ok(
                "CreateUpload",
                json!({"projectArn": project, "name": "tests.zip", "type": "APPIUM_WEB_PYTHON_TEST_PACKAGE"}),
            )
            .await["upload"]
            .clone();
        assert_eq!(self.put(upload["url"].as_str().expect("url"), zip_of("farmhand-sim.yaml", scenario)).await, 200);
        let arn = upload["arn"].as_str().expect("arn").to_owned();
        let done = self
            .wait(
                || async { self.ok("GetUpload", json!({"arn": arn})).await["upload"].clone() },
                |u| u["status"] != "INITIALIZED" && u["status"] != "PROCESSING",
            )
            .await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        arn
    }

    /// The demo fleet's Android devices.
    pub async fn androids(&self) -> Vec<String> {
        let devices = self.ok("ListDevices", json!({})).await;
        let arns: Vec<String> = devices["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .filter(|d| d["platform"] == "ANDROID")
            .map(|d| d["arn"].as_str().expect("arn").to_owned())
            .collect();
        assert!(arns.len() >= 2, "the demo fleet has Android devices: {devices}");
        arns
    }

    /// A run of `package` on `device` alone; its ARN and its one job's.
    pub async fn run_on(&self, project: &str, package: &str, device: &str) -> (String, String) {
        let run = self
            .ok(
                "ScheduleRun",
                json!({
                    "projectArn": project,
                    "test": {"type": "APPIUM_WEB_PYTHON", "testPackageArn": package},
                    "deviceSelectionConfiguration": {
                        "filters": [{"attribute": "ARN", "operator": "EQUALS", "values": [device]}],
                        "maxDevices": 1
                    }
                }),
            )
            .await;
        let run_arn = run["run"]["arn"].as_str().expect("run arn").to_owned();
        let jobs = self.ok("ListJobs", json!({"arn": run_arn})).await;
        (run_arn, jobs["jobs"][0]["arn"].as_str().expect("job arn").to_owned())
    }

    /// Polls `fetch` until `done` holds (at most 60 s of real time).
    pub async fn wait<F, Fut>(&self, fetch: F, done: impl Fn(&Value) -> bool) -> Value
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Value>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let value = fetch().await;
            if done(&value) {
                return value;
            }
            assert!(tokio::time::Instant::now() < deadline, "not reached in 60 s; last {value}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn job(&self, arn: &str) -> Value {
        self.ok("GetJob", json!({"arn": arn})).await["job"].clone()
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

pub fn zip_of(name: &str, text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(name, zip::write::SimpleFileOptions::default()).expect("zip entry");
    zip.write_all(text.as_bytes()).expect("zip write");
    zip.finish().expect("zip");
    out.into_inner()
}
