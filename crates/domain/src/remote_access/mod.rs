//! Remote access sessions: a person driving one device from the dashboard. A session holds
//! its device as a job does (same waiting states, same slots, same ledger), and its course
//! is a pure function of a few instants kept in its record: device assigned, screen ready,
//! stop requested, ended. `docs/decisions.md` ("remote access") gives the choices AWS
//! leaves open.

pub mod input;

use crate::device::Device;
use crate::job::billing::{billed_seconds, DeviceMinutes};
use crate::job::status::{ExecutionResult, ExecutionStatus};
use crate::run::{BillingMethod, JobPhase, WaitReason};
use serde::{Deserialize, Serialize};

/// What the session's viewer may do (the model's InteractionMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InteractionMode {
    /// Screen and input.
    #[default]
    Interactive,
    /// Input without the screen.
    NoVideo,
    /// The screen without input.
    VideoOnly,
}

impl InteractionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionMode::Interactive => "INTERACTIVE",
            InteractionMode::NoVideo => "NO_VIDEO",
            InteractionMode::VideoOnly => "VIDEO_ONLY",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [InteractionMode::Interactive, InteractionMode::NoVideo, InteractionMode::VideoOnly]
            .into_iter()
            .find(|m| m.as_str() == text)
    }

    pub fn shows_screen(self) -> bool {
        self != InteractionMode::NoVideo
    }

    pub fn takes_input(self) -> bool {
        self != InteractionMode::VideoOnly
    }
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum SessionEnd {
    /// StopRemoteAccessSession or the dashboard's stop button.
    Stopped,
    /// No input and no viewer for the idle timeout (minutes).
    Idle(i64),
    /// The account's job timeout (minutes) passed since the session started.
    MaxDuration(i64),
    /// The device, its host or the screen went away.
    DeviceLost(String),
}

impl SessionEnd {
    pub fn result(&self) -> ExecutionResult {
        match self {
            SessionEnd::DeviceLost(_) => ExecutionResult::Errored,
            _ => ExecutionResult::Stopped,
        }
    }

    pub fn message(&self) -> Option<String> {
        match self {
            SessionEnd::Stopped => None,
            SessionEnd::Idle(minutes) => {
                Some(format!("The session ended after {minutes} minutes without input or a viewer."))
            }
            SessionEnd::MaxDuration(minutes) => {
                Some(format!("The session ended at the account's job timeout of {minutes} minutes."))
            }
            SessionEnd::DeviceLost(why) => Some(format!("The device was lost: {why}")),
        }
    }
}

/// An app installed during the session (InstallToRemoteAccessSession, or `appArn` at start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Install {
    pub app_arn: String,
    pub requested_ms: i64,
    /// Set once the device answered: `Ok` or what went wrong.
    pub outcome: Option<Result<(), String>>,
}

/// A file the session left (its video, its input log), kept in the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionArtifact {
    pub name: String,
    /// The model's ArtifactType.
    pub artifact_type: String,
    pub extension: String,
    pub blob_key: String,
}

/// The stored form of a remote access session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteSession {
    pub name: String,
    /// The device as it was when the session was created.
    pub device: Device,
    /// How the device is driven: what serves its screen.
    #[serde(default)]
    pub driver: crate::device::Driver,
    /// The instance the request named, if any: only it may be assigned.
    pub requested_instance_arn: Option<String>,
    pub billing_method: BillingMethod,
    pub interaction_mode: InteractionMode,
    pub skip_app_resign: bool,
    pub remote_debug_enabled: bool,
    pub remote_record_enabled: bool,
    pub remote_record_app_arn: Option<String>,
    pub client_id: Option<String>,
    pub app_arn: Option<String>,
    pub vpce_configuration_arns: Vec<String>,
    /// `configuration.networkProfileArn`, resolved when the session was created: applied on
    /// an adb phone for the session (a simulated device has no network to shape).
    #[serde(default)]
    pub network_profile: Option<crate::network::NetworkShape>,
    /// `configuration.deviceProxy` as the request gave it, echoed back.
    pub device_proxy: Option<serde_json::Value>,
    /// The project's VPC settings when the session was created, echoed back.
    #[serde(default)]
    pub vpc_config: Option<crate::resources::VpcConfig>,
    /// The longest the session may run once started: the account's job timeout.
    pub timeout_minutes: i32,
    pub phase: JobPhase,
    pub wait_reason: WaitReason,
    pub instance_arn: Option<String>,
    pub assigned_ms: Option<i64>,
    /// When the device's screen and input were up: RUNNING, and billed, from here.
    pub ready_ms: Option<i64>,
    /// The device's own id (adb serial, simulated udid), learned when it got ready.
    pub device_udid: Option<String>,
    /// The replica serving the session's screen: it draws a simulated device's, or holds the
    /// connection to the host of a phone.
    pub screen_owner: Option<String>,
    /// Where another replica reaches that owner, for viewers connected elsewhere.
    pub owner_url: Option<String>,
    /// The first stop; later ones change nothing.
    pub stop_requested_ms: Option<i64>,
    pub ended_ms: Option<i64>,
    pub end: Option<SessionEnd>,
    pub installs: Vec<Install>,
    pub artifacts: Vec<SessionArtifact>,
    pub settled_ms: Option<i64>,
}

/// A session seen at an instant: what the API answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub status: ExecutionStatus,
    pub result: ExecutionResult,
    pub message: Option<String>,
    pub started_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
    pub billed_seconds: i64,
    pub device_minutes: DeviceMinutes,
}

impl RemoteSession {
    /// A new session waiting for `device`, with the request's defaults: nothing of its
    /// course has happened yet.
    pub fn waiting(
        name: String,
        device: Device,
        driver: crate::device::Driver,
        billing_method: BillingMethod,
        timeout_minutes: i32,
    ) -> RemoteSession {
        RemoteSession {
            name,
            device,
            driver,
            requested_instance_arn: None,
            billing_method,
            interaction_mode: InteractionMode::Interactive,
            skip_app_resign: false,
            remote_debug_enabled: false,
            remote_record_enabled: true,
            remote_record_app_arn: None,
            client_id: None,
            app_arn: None,
            vpce_configuration_arns: Vec::new(),
            network_profile: None,
            device_proxy: None,
            vpc_config: None,
            timeout_minutes,
            phase: JobPhase::Waiting,
            wait_reason: WaitReason::Pending,
            instance_arn: None,
            assigned_ms: None,
            ready_ms: None,
            device_udid: None,
            screen_owner: None,
            owner_url: None,
            stop_requested_ms: None,
            ended_ms: None,
            end: None,
            installs: Vec::new(),
            artifacts: Vec::new(),
            settled_ms: None,
        }
    }

    /// Records a stop at `at_ms` unless one was recorded already; whether it was. A session
    /// still waiting for its device ends there and then, billed nothing.
    pub fn request_stop(&mut self, at_ms: i64) -> bool {
        if self.stop_requested_ms.is_some() || self.ended_ms.is_some() {
            return false;
        }
        self.stop_requested_ms = Some(at_ms);
        if self.phase == JobPhase::Waiting {
            self.end_at(at_ms, SessionEnd::Stopped);
        }
        true
    }

    /// Ends the session at `at_ms` for `why` unless it has ended already; whether it did.
    pub fn end_at(&mut self, at_ms: i64, why: SessionEnd) -> bool {
        if self.ended_ms.is_some() {
            return false;
        }
        self.ended_ms = Some(at_ms.max(self.ready_ms.unwrap_or(at_ms)));
        self.end = Some(why);
        true
    }

    /// Whether it still holds (or waits for) a device and has not ended.
    pub fn is_live(&self) -> bool {
        self.ended_ms.is_none()
    }

    /// When the session ends by itself if nothing happens: at the idle timeout after the
    /// last sign of life (`last_activity_ms`: input or a viewer), or at its maximum duration.
    pub fn due_end(&self, last_activity_ms: i64, idle_minutes: i64) -> Option<(i64, SessionEnd)> {
        let ready = self.ready_ms?;
        if self.ended_ms.is_some() {
            return None;
        }
        let idle_at = last_activity_ms.max(ready) + idle_minutes * 60_000;
        let max_at = ready + i64::from(self.timeout_minutes) * 60_000;
        Some(if idle_at < max_at {
            (idle_at, SessionEnd::Idle(idle_minutes))
        } else {
            (max_at, SessionEnd::MaxDuration(i64::from(self.timeout_minutes)))
        })
    }

    pub fn view(&self, now_ms: i64) -> SessionView {
        let ended = self.ended_ms.filter(|at| *at <= now_ms);
        let status = match (ended, self.phase) {
            (Some(_), _) => ExecutionStatus::Completed,
            (None, JobPhase::Waiting) => match self.wait_reason {
                WaitReason::Pending => ExecutionStatus::Pending,
                WaitReason::Concurrency => ExecutionStatus::PendingConcurrency,
                WaitReason::Device => ExecutionStatus::PendingDevice,
            },
            (None, _) if self.stop_requested_ms.is_some() => ExecutionStatus::Stopping,
            (None, _) if self.ready_ms.is_some() => ExecutionStatus::Running,
            (None, _) => ExecutionStatus::Preparing,
        };
        let result = match (ended, &self.end) {
            (Some(_), Some(end)) => end.result(),
            _ => ExecutionResult::Pending,
        };
        let message = ended.and(self.end.as_ref()).and_then(SessionEnd::message);
        let stopped_ms = ended;
        let billed = match (self.ready_ms, stopped_ms.or(Some(now_ms))) {
            (Some(from), Some(to)) => billed_seconds(from, to),
            _ => 0,
        };
        SessionView {
            status,
            result,
            message,
            started_ms: self.ready_ms,
            stopped_ms,
            billed_seconds: billed,
            device_minutes: DeviceMinutes::from_seconds(billed, self.billing_method),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_support::pixel;

    fn session() -> RemoteSession {
        RemoteSession::waiting("s".into(), pixel(), crate::device::Driver::Simulated, BillingMethod::Metered, 150)
    }

    #[test]
    fn waiting_states_follow_the_scheduler() {
        let mut s = session();
        assert_eq!(s.view(0).status, ExecutionStatus::Pending);
        s.wait_reason = WaitReason::Device;
        assert_eq!(s.view(0).status, ExecutionStatus::PendingDevice);
        s.wait_reason = WaitReason::Concurrency;
        assert_eq!(s.view(0).status, ExecutionStatus::PendingConcurrency);
    }

    #[test]
    fn stopped_before_its_device_it_ends_at_once_unbilled() {
        let mut s = session();
        assert!(s.request_stop(5_000));
        let v = s.view(9_000);
        assert_eq!((v.status, v.result, v.billed_seconds), (ExecutionStatus::Completed, ExecutionResult::Stopped, 0));
        assert_eq!(v.stopped_ms, Some(5_000));
        assert!(!s.request_stop(6_000), "the first stop wins");
    }

    #[test]
    fn a_running_session_bills_from_ready_to_end_through_stopping() {
        let mut s = session();
        s.phase = JobPhase::Active;
        s.assigned_ms = Some(1_000);
        assert_eq!(s.view(1_500).status, ExecutionStatus::Preparing);
        s.ready_ms = Some(2_000);
        let running = s.view(62_000);
        assert_eq!((running.status, running.billed_seconds), (ExecutionStatus::Running, 60));
        assert!(s.request_stop(62_500));
        assert_eq!(s.view(62_600).status, ExecutionStatus::Stopping);
        assert!(s.end_at(63_000, SessionEnd::Stopped));
        let v = s.view(70_000);
        assert_eq!((v.status, v.result, v.billed_seconds), (ExecutionStatus::Completed, ExecutionResult::Stopped, 61));
        assert_eq!(v.device_minutes.metered, 61.0 / 60.0);
        assert!(!s.end_at(64_000, SessionEnd::DeviceLost("gone".into())), "a session ends once");
    }

    #[test]
    fn idle_or_max_duration_whichever_comes_first() {
        let mut s = session();
        s.phase = JobPhase::Active;
        s.ready_ms = Some(0);
        s.timeout_minutes = 10;
        assert_eq!(s.due_end(0, 5), Some((300_000, SessionEnd::Idle(5))));
        assert_eq!(s.due_end(400_000, 5), Some((600_000, SessionEnd::MaxDuration(10))));
        s.end_at(1, SessionEnd::Stopped);
        assert_eq!(s.due_end(0, 5), None);
    }

    #[test]
    fn a_lost_device_errors_the_session() {
        let mut s = session();
        s.phase = JobPhase::Active;
        s.ready_ms = Some(0);
        s.end_at(1_000, SessionEnd::DeviceLost("host gone".into()));
        let v = s.view(1_000);
        assert_eq!(v.result, ExecutionResult::Errored);
        assert!(v.message.is_some_and(|m| m.contains("host gone")));
    }
}
