//! What crosses between the control plane and a device host.

/// Where an agent opens its WebSocket to the control plane.
pub const CONNECT_PATH: &str = "/agent/v1/connect";
/// Where it downloads a job's input files, uploads a job's live output, and its artifacts.
pub const INPUT_PATH: &str = "/agent/v1/input";
pub const OUTPUT_PATH: &str = "/agent/v1/output";
pub const ARTIFACT_PATH: &str = "/agent/v1/artifact";
/// Where it uploads what a TestGrid session on its browsers left (`?session=ARN&file=NAME`).
pub const BROWSER_ARTIFACT_PATH: &str = "/agent/v1/testgrid-artifact";

use domain::run::{Job, Run};
use serde::{Deserialize, Serialize};

/// An upload the job needs, and the file name tools should see (`adb install` wants
/// `.apk`; the stored blob has no name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub arn: String,
    pub file_name: String,
}

/// Everything a host needs to run one job, as the control plane had it at assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub job_arn: String,
    pub account: String,
    pub job: Job,
    pub run_arn: String,
    pub run: Run,
    /// The test spec's text, when the run named one.
    pub spec: Option<String>,
    pub package: Option<InputFile>,
    pub app: Option<InputFile>,
    /// The app's package (Android) or bundle id (iOS), as its upload's inspection found it.
    pub app_package: Option<String>,
    /// Service-clock milliseconds per real millisecond (`serve --time-scale`): how fast a
    /// scripted device plays its scenario.
    #[serde(default = "real_time")]
    pub time_scale: f64,
}

fn real_time() -> f64 {
    1.0
}

/// Agent → server, one JSON text frame each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HostMessage {
    /// First message of a connection: the host's devices as they are now, and the jobs
    /// it is still running (after a network blip, or none after a restart).
    Hello {
        devices: Vec<domain::host::HostedDevice>,
        running: Vec<String>,
        /// The desktop browsers it offers TestGrid sessions on (none from older agents).
        #[serde(default)]
        browsers: Vec<BrowserOffer>,
    },
    /// A sign of life; also sent with fresh devices when one is plugged in or out.
    Heartbeat { devices: Option<Vec<domain::host::HostedDevice>> },
    /// Something happened to a job. `seq` is acknowledged once the report is stored;
    /// until then the agent keeps it and resends it after a reconnect (reports are
    /// idempotent).
    Report { seq: u64, job_arn: String, report: domain::job::report::JobReport },
    /// The answer to `BrowserStart`: the driver's own answer (`status`, `body`) when it
    /// refused, or its new-session answer; or why the host could not start one.
    BrowserStarted { session: String, status: u16, body: String },
    /// The answer to `BrowserCommand` `seq`, as the driver gave it (`body` in base64).
    BrowserAnswer { seq: u64, status: u16, content_type: Option<String>, body: String },
    /// A session's browser or driver ended on its own.
    BrowserDied { session: String, reason: String },
    /// The session is over on this host; what it left is uploaded (the file names).
    BrowserEnded { session: String, artifacts: Vec<String> },
}

/// A browser a host offers, as it tells the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserOffer {
    pub kind: crate::browser::BrowserKind,
    pub version: Option<String>,
    pub max_sessions: u32,
}

/// Server → agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlMessage {
    /// The connection is accepted; heartbeats are expected this often.
    /// `region` is the one device ARNs must be in.
    Welcome { replica: String, heartbeat_ms: u64, region: String },
    /// Run this job now (its device is one of the host's).
    Run { assignment: Box<Assignment> },
    /// What is wanted of a running job: pushed the moment a stop or the deadline happens.
    Orders { job_arn: String, orders: crate::agent::Orders },
    /// The control plane has ended this job without the host (it was lost, or settled
    /// while the host was away): end its processes, report nothing more.
    Forget { job_arn: String },
    /// The report `seq` is stored.
    Ack { seq: u64 },
    /// This replica is shutting down: connect to another one now (the jobs go on; their
    /// reports are resent there).
    GoAway { reason: String },
    /// The host's hello was refused (its devices clash with another host's, wrong
    /// region…); the connection closes.
    Refused { reason: String },
    /// Start a TestGrid session (`session` is its ARN) on a `kind` browser, sending the
    /// driver `request` (the new-session body); answered by `BrowserStarted`.
    BrowserStart { session: String, kind: crate::browser::BrowserKind, request: serde_json::Value },
    /// One WebDriver command for a session (`path` below `/session/{id}`, `body` in
    /// base64); answered by `BrowserAnswer` with the same `seq`.
    BrowserCommand { session: String, seq: u64, method: String, path: String, query: Option<String>, body: String },
    /// End a session (its quit, a timeout): answered by `BrowserEnded`.
    BrowserEnd { session: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let message = ControlMessage::Orders {
            job_arn: "arn:x".into(),
            orders: crate::agent::Orders { stop: true, time_out: false },
        };
        let text = serde_json::to_string(&message).expect("json");
        assert!(text.starts_with("{\"type\":\"ORDERS\""), "{text}");
        assert_eq!(serde_json::from_str::<ControlMessage>(&text).expect("parsed"), message);
        let hello: HostMessage =
            serde_json::from_str(r#"{"type":"HELLO","devices":[],"running":["a"]}"#).expect("parsed");
        assert_eq!(hello, HostMessage::Hello { devices: vec![], running: vec!["a".into()], browsers: vec![] });
    }
}
