//! What crosses between the control plane and a device host.

/// Where an agent opens its WebSocket to the control plane.
pub const CONNECT_PATH: &str = "/agent/v1/connect";
/// Where it downloads a job's input files, uploads a job's live output, and its artifacts.
pub const INPUT_PATH: &str = "/agent/v1/input";
pub const OUTPUT_PATH: &str = "/agent/v1/output";
pub const ARTIFACT_PATH: &str = "/agent/v1/artifact";
/// Where it uploads what a TestGrid session on its browsers left (`?session=ARN&file=NAME`).
pub const BROWSER_ARTIFACT_PATH: &str = "/agent/v1/testgrid-artifact";
/// Where it downloads an app to install during a remote access session
/// (`?session=ARN&install=N`).
pub const SESSION_APP_PATH: &str = "/agent/v1/session-app";

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
    /// The answer to `ScreenStart`: the device's udid, or why its screen could not start.
    ScreenStarted { session: String, udid: String, error: Option<String> },
    /// The screen's stream (re)starts with these settings.
    ScreenConfig { session: String, config: crate::screen::StreamConfig },
    /// One picture of a session's screen. Sent as a binary WebSocket message
    /// ([`encode_picture`]), never as JSON.
    #[serde(skip)]
    ScreenPicture { session: String, picture: crate::screen::Picture },
    /// The answer to `ScreenInput` or `ScreenInstall` `seq`: done, or why not.
    ScreenAnswer { seq: u64, error: Option<String> },
    /// A session's screen ended on this host (the device went away, or it was stopped).
    ScreenEnded { session: String, reason: String },
}

/// A picture as a binary message: the session's length (u16, big-endian) and ARN, a flags
/// byte (1 = key picture), the time (u64 milliseconds, big-endian), then the picture.
pub fn encode_picture(session: &str, picture: &crate::screen::Picture) -> Vec<u8> {
    let mut out = Vec::with_capacity(session.len() + picture.data.len() + 11);
    out.extend_from_slice(&(session.len() as u16).to_be_bytes());
    out.extend_from_slice(session.as_bytes());
    out.push(u8::from(picture.key));
    out.extend_from_slice(&picture.at_ms.to_be_bytes());
    out.extend_from_slice(&picture.data);
    out
}

/// The session and picture of a binary message, if it is one.
pub fn decode_picture(bytes: &[u8]) -> Option<(String, crate::screen::Picture)> {
    let len = usize::from(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?));
    let session = std::str::from_utf8(bytes.get(2..2 + len)?).ok()?.to_string();
    let rest = bytes.get(2 + len..)?;
    let key = *rest.first()? & 1 == 1;
    let at_ms = u64::from_be_bytes(rest.get(1..9)?.try_into().ok()?);
    let data = bytes::Bytes::copy_from_slice(rest.get(9..)?);
    Some((session, crate::screen::Picture { key, at_ms, data }))
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
    /// Show the screen of adb device `serial` (natural size `width` × `height`) for remote
    /// access session `session`, streaming it when `video`; answered by `ScreenStarted`.
    /// `network`, when given, shapes the phone's network until the screen stops.
    ScreenStart {
        session: String,
        serial: String,
        width: u32,
        height: u32,
        video: bool,
        #[serde(default)]
        network: Option<domain::network::NetworkShape>,
        /// `deviceProxy` as `HOST:PORT`: the phone's HTTP proxy until the screen stops.
        #[serde(default)]
        proxy: Option<String>,
    },
    /// Give the session's device an input; answered by `ScreenAnswer` `seq`.
    ScreenInput { session: String, seq: u64, input: domain::remote_access::input::DeviceInput },
    /// Install the app at `path` (below the server, fetched with the agent's token) on the
    /// session's device; answered by `ScreenAnswer` `seq`.
    ScreenInstall { session: String, seq: u64, path: String },
    /// End the session's screen and input; answered by `ScreenEnded`.
    ScreenStop { session: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_travel_as_bytes_and_come_back_whole() {
        let picture =
            crate::screen::Picture { key: true, at_ms: 123_456, data: bytes::Bytes::from_static(b"\0\0\0\x01\x65") };
        let bytes = encode_picture("arn:aws:devicefarm:x:1:session:p/s/00000", &picture);
        assert_eq!(decode_picture(&bytes), Some(("arn:aws:devicefarm:x:1:session:p/s/00000".to_string(), picture)));
        assert_eq!(decode_picture(&bytes[..5]), None);
    }

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
