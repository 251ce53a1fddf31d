//! Setting up and watching a farm through its public API only, the way a user's script would:
//! a project, a test package scripted for the simulated fleet, runs, and their jobs.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::http::{Connection, Request};
use crate::signer::{Credentials, Service, DEVICE_FARM};

/// The manufacturer of every bench device: one filter selects exactly them.
pub const BENCH_MAKER: &str = "Benchco";

/// One signed client on one connection, for setup and polling (not for measured load).
pub struct Api {
    pub service: Service,
    connection: Connection,
}

impl Api {
    pub async fn connect(addr: SocketAddr, credentials: &Credentials) -> Result<Api> {
        Ok(Api {
            service: Service::new(addr, DEVICE_FARM, Some(credentials.clone())),
            connection: Connection::open(addr).await?,
        })
    }

    pub async fn call(&mut self, operation: &str, body: Value) -> Result<Value> {
        let request = self.service.request(operation, &body)?;
        let response = self.connection.send(&request).await?;
        if response.status != 200 {
            bail!("{operation} answered HTTP {}: {}", response.status, String::from_utf8_lossy(&response.body));
        }
        Ok(serde_json::from_slice(&response.body)?)
    }

    pub async fn account_id(&mut self) -> Result<String> {
        let settings = self.call("GetAccountSettings", json!({})).await?;
        str_at(&settings, "/accountSettings/awsAccountNumber")
    }

    pub async fn create_project(&mut self, name: &str) -> Result<String> {
        let project = self.call("CreateProject", json!({"name": name})).await?;
        str_at(&project, "/project/arn")
    }

    /// Uploads a test package whose `farmhand-sim.yaml` scripts the simulated jobs, and
    /// waits until the server has inspected it.
    pub async fn sim_package(&mut self, project_arn: &str, scenario_yaml: &str) -> Result<String> {
        let created = self
            .call(
                "CreateUpload",
                json!({"projectArn": project_arn, "name": "tests.zip", "type": "APPIUM_WEB_PYTHON_TEST_PACKAGE"}),
            )
            .await?;
        let arn = str_at(&created, "/upload/arn")?;
        let url = str_at(&created, "/upload/url")?;
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .context("upload URL")?;
        let body = zip(&[("tests/test_sim.py", "def test_sim():\n    pass\n"), ("farmhand-sim.yaml", scenario_yaml)])?;
        let put = Request {
            method: http::Method::PUT,
            path,
            headers: vec![("host".to_string(), self.service.addr.to_string())],
            body: Bytes::from(body),
        };
        let response = self.connection.send(&put).await?;
        if response.status != 200 {
            bail!("upload PUT answered HTTP {}", response.status);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let upload = self.call("GetUpload", json!({"arn": arn})).await?;
            match upload.pointer("/upload/status").and_then(Value::as_str) {
                Some("SUCCEEDED") => return Ok(arn),
                Some("FAILED") => bail!("test package refused: {upload}"),
                _ if Instant::now() > deadline => bail!("test package not processed within 60 s"),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// ScheduleRun on up to `devices` bench devices; returns the run's ARN.
    pub async fn schedule(
        &mut self,
        project_arn: &str,
        package_arn: &str,
        name: &str,
        devices: usize,
    ) -> Result<String> {
        let run = self.call("ScheduleRun", schedule_body(project_arn, package_arn, name, devices)).await?;
        str_at(&run, "/run/arn")
    }

    /// Every job of a run, following ListJobs' pages.
    pub async fn jobs(&mut self, run_arn: &str) -> Result<Vec<Value>> {
        let mut jobs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"arn": run_arn});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let page = self.call("ListJobs", body).await?;
            jobs.extend(page["jobs"].as_array().cloned().unwrap_or_default());
            token = page.get("nextToken").and_then(Value::as_str).map(str::to_string);
            if token.is_none() {
                return Ok(jobs);
            }
        }
    }

    /// Polls the run's jobs until `done` holds for all `expected` of them; returns how long
    /// that took from `since`. The poll itself is part of what is measured, so it is tight.
    pub async fn wait_jobs(
        &mut self,
        run_arn: &str,
        expected: usize,
        since: Instant,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Duration> {
        loop {
            let jobs = self.jobs(run_arn).await?;
            if jobs.len() == expected && jobs.iter().all(&done) {
                return Ok(since.elapsed());
            }
            if since.elapsed() > timeout {
                let reached = jobs.iter().filter(|j| done(j)).count();
                bail!("after {timeout:?} only {reached} of {expected} jobs of {run_arn} got there");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn schedule_body(project_arn: &str, package_arn: &str, name: &str, devices: usize) -> Value {
    json!({
        "projectArn": project_arn,
        "name": name,
        "test": {"type": "APPIUM_WEB_PYTHON", "testPackageArn": package_arn},
        "deviceSelectionConfiguration": {
            "filters": [{"attribute": "MANUFACTURER", "operator": "EQUALS", "values": [BENCH_MAKER]}],
            "maxDevices": devices,
        },
        "executionConfiguration": {"jobTimeoutMinutes": JOB_TIMEOUT_MINUTES},
    })
}

/// Longer than any bench scenario, on the service clock.
pub const JOB_TIMEOUT_MINUTES: u64 = 20_000;

pub fn status(job: &Value) -> &str {
    job.get("status").and_then(Value::as_str).unwrap_or("")
}

pub fn str_at(value: &Value, pointer: &str) -> Result<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("no {pointer} in {value}"))
}

/// A fleet file of `count` simulated bench devices with one instance each.
pub fn write_fleet(path: &Path, count: usize) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(file, "[fleet]\ntype = \"PRIVATE\"\nname = \"Bench\"\n")?;
    for i in 0..count {
        writeln!(
            file,
            r#"[[device]]
id = "bench-{i:04}"
name = "{BENCH_MAKER} {i:04}"
manufacturer = "{BENCH_MAKER}"
model = "Bench {i:04}"
model_id = "BENCH{i:04}"
form_factor = "PHONE"
platform = "ANDROID"
os = "14"
cpu = {{ frequency = "MHz", architecture = "arm64-v8a", clock = 2850.0 }}
resolution = {{ width = 1080, height = 2400 }}
heap_size = 536870912
memory = 128000000000
image = "bench-{i:04}-image"
radio = "WiFi"
remote_access_enabled = false
availability = "AVAILABLE"

[[device.instance]]
udid = "BENCH{i:06}"
"#
        )?;
    }
    file.flush()?;
    Ok(())
}

fn zip(entries: &[(&str, &str)]) -> Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in entries {
        writer.start_file(*name, options)?;
        writer.write_all(text.as_bytes())?;
    }
    Ok(writer.finish()?.into_inner())
}
