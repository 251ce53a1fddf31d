//! Desktop browser testing (TestGrid): the stored form of projects and sessions and the
//! rules a session follows. A session is ACTIVE from the WebDriver "new session" until the
//! client quits, a timeout closes it or its browser dies; it bills whole seconds from
//! creation to end (docs/decisions.md, "browser minutes").

use crate::job::billing::billed_seconds;
use serde::{Deserialize, Serialize};

/// A `[[browser]]` table of a fleet file: a browser a host offers TestGrid sessions on.
/// What it leaves out, the host finds on its PATH.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserDeclaration {
    /// `chrome` or `firefox`.
    pub name: String,
    pub driver: Option<std::path::PathBuf>,
    pub binary: Option<std::path::PathBuf>,
    /// Sessions of this browser the host runs at once.
    pub max_sessions: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestGridProject {
    pub name: String,
    pub description: Option<String>,
    pub vpc_config: Option<crate::resources::VpcConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Active,
    Closed,
    Errored,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "ACTIVE",
            SessionStatus::Closed => "CLOSED",
            SessionStatus::Errored => "ERRORED",
        }
    }
}

/// Why a session ended: CLOSED for the first three, ERRORED for the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The client's `DELETE /session/{id}`.
    Quit,
    /// No command for the idle timeout.
    Idle,
    /// The maximum duration passed.
    MaxDuration,
    /// The browser or its driver exited, or answered nothing.
    BrowserDied(String),
    /// The host running the browser went away.
    HostLost(String),
}

impl EndReason {
    pub fn status(&self) -> SessionStatus {
        match self {
            EndReason::Quit | EndReason::Idle | EndReason::MaxDuration => SessionStatus::Closed,
            EndReason::BrowserDied(_) | EndReason::HostLost(_) => SessionStatus::Errored,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            EndReason::Quit => "closed by the client".to_string(),
            EndReason::Idle => "closed after its idle timeout".to_string(),
            EndReason::MaxDuration => "closed at its maximum duration".to_string(),
            EndReason::BrowserDied(why) => format!("the browser ended: {why}"),
            EndReason::HostLost(host) => format!("its host {host} was lost"),
        }
    }
}

/// A session as stored: what cannot be derived. The ARN names project and session id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestGridSession {
    pub created_ms: i64,
    pub ended_ms: Option<i64>,
    pub end_reason: Option<EndReason>,
    /// The capabilities the client asked for, as the JSON it sent (`seleniumProperties`).
    pub selenium_properties: String,
    /// `chrome` or `firefox`, and the version the browser reported.
    pub browser: String,
    pub browser_version: Option<String>,
    /// The host whose browser runs it (the server's own is `local`).
    pub host: String,
    /// The replica that holds the session's connection to its browser.
    pub replica: String,
    /// Where other replicas reach that replica's hub (`http://HOST:PORT`), to hand it the
    /// commands for this session they receive.
    #[serde(default)]
    pub replica_url: String,
    /// What the session left, once it ended.
    #[serde(default)]
    pub artifacts: Vec<SessionArtifact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionArtifactKind {
    /// Listed under the VIDEO category.
    Video,
    /// The driver's log; listed under LOG.
    SeleniumLog,
}

/// A file a session left, kept in the blob store under the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionArtifact {
    pub kind: SessionArtifactKind,
    pub filename: String,
}

impl TestGridSession {
    pub fn status(&self) -> SessionStatus {
        self.end_reason.as_ref().map_or(SessionStatus::Active, EndReason::status)
    }

    /// Whole seconds from creation to the end (or to `now_ms` while active).
    pub fn billed_seconds(&self, now_ms: i64) -> i64 {
        billed_seconds(self.created_ms, self.ended_ms.unwrap_or(now_ms))
    }

    pub fn billing_minutes(&self, now_ms: i64) -> f64 {
        self.billed_seconds(now_ms) as f64 / 60.0
    }

    /// Ends an active session; an ended one keeps its first end.
    pub fn end(&mut self, at_ms: i64, reason: EndReason) -> bool {
        if self.end_reason.is_some() {
            return false;
        }
        self.ended_ms = Some(at_ms.max(self.created_ms));
        self.end_reason = Some(reason);
        true
    }
}

/// One WebDriver command as ListTestGridSessionActions answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAction {
    /// The command in WebDriver terms (`navigateTo`, `findElement`…), or the path.
    pub action: String,
    pub started_ms: i64,
    pub duration_ms: i64,
    pub status_code: u16,
    pub method: String,
}

/// When an active session closes on its own: idle or at its maximum duration,
/// whichever is first.
pub fn auto_close(created_ms: i64, last_command_ms: i64, idle_ms: i64, max_ms: i64) -> (i64, EndReason) {
    let idle_at = last_command_ms + idle_ms;
    let max_at = created_ms + max_ms;
    if idle_at < max_at {
        (idle_at, EndReason::Idle)
    } else {
        (max_at, EndReason::MaxDuration)
    }
}

/// The W3C WebDriver command a request is, by method and path below `/session/{id}`
/// (the endpoint table of the W3C WebDriver spec, with the names its section headings
/// give); anything else is named by its path.
pub fn command_name(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let name = match (method, segments.as_slice()) {
        ("DELETE", []) => "deleteSession",
        ("GET", ["timeouts"]) => "getTimeouts",
        ("POST", ["timeouts"]) => "setTimeouts",
        ("POST", ["url"]) => "navigateTo",
        ("GET", ["url"]) => "getCurrentUrl",
        ("POST", ["back"]) => "back",
        ("POST", ["forward"]) => "forward",
        ("POST", ["refresh"]) => "refresh",
        ("GET", ["title"]) => "getTitle",
        ("GET", ["window"]) => "getWindowHandle",
        ("DELETE", ["window"]) => "closeWindow",
        ("POST", ["window"]) => "switchToWindow",
        ("GET", ["window", "handles"]) => "getWindowHandles",
        ("POST", ["window", "new"]) => "newWindow",
        ("POST", ["frame"]) => "switchToFrame",
        ("POST", ["frame", "parent"]) => "switchToParentFrame",
        ("GET", ["window", "rect"]) => "getWindowRect",
        ("POST", ["window", "rect"]) => "setWindowRect",
        ("POST", ["window", "maximize"]) => "maximizeWindow",
        ("POST", ["window", "minimize"]) => "minimizeWindow",
        ("POST", ["window", "fullscreen"]) => "fullscreenWindow",
        ("GET", ["element", "active"]) => "getActiveElement",
        ("GET", ["element", _, "shadow"]) => "getElementShadowRoot",
        ("POST", ["element"]) => "findElement",
        ("POST", ["elements"]) => "findElements",
        ("POST", ["element", _, "element"]) => "findElementFromElement",
        ("POST", ["element", _, "elements"]) => "findElementsFromElement",
        ("POST", ["shadow", _, "element"]) => "findElementFromShadowRoot",
        ("POST", ["shadow", _, "elements"]) => "findElementsFromShadowRoot",
        ("GET", ["element", _, "selected"]) => "isElementSelected",
        ("GET", ["element", _, "attribute", _]) => "getElementAttribute",
        ("GET", ["element", _, "property", _]) => "getElementProperty",
        ("GET", ["element", _, "css", _]) => "getElementCSSValue",
        ("GET", ["element", _, "text"]) => "getElementText",
        ("GET", ["element", _, "name"]) => "getElementTagName",
        ("GET", ["element", _, "rect"]) => "getElementRect",
        ("GET", ["element", _, "enabled"]) => "isElementEnabled",
        ("GET", ["element", _, "computedrole"]) => "getComputedRole",
        ("GET", ["element", _, "computedlabel"]) => "getComputedLabel",
        ("POST", ["element", _, "click"]) => "elementClick",
        ("POST", ["element", _, "clear"]) => "elementClear",
        ("POST", ["element", _, "value"]) => "elementSendKeys",
        ("GET", ["source"]) => "getPageSource",
        ("POST", ["execute", "sync"]) => "executeScript",
        ("POST", ["execute", "async"]) => "executeAsyncScript",
        ("GET", ["cookie"]) => "getAllCookies",
        ("GET", ["cookie", _]) => "getNamedCookie",
        ("POST", ["cookie"]) => "addCookie",
        ("DELETE", ["cookie", _]) => "deleteCookie",
        ("DELETE", ["cookie"]) => "deleteAllCookies",
        ("POST", ["actions"]) => "performActions",
        ("DELETE", ["actions"]) => "releaseActions",
        ("POST", ["alert", "dismiss"]) => "dismissAlert",
        ("POST", ["alert", "accept"]) => "acceptAlert",
        ("GET", ["alert", "text"]) => "getAlertText",
        ("POST", ["alert", "text"]) => "sendAlertText",
        ("GET", ["screenshot"]) => "takeScreenshot",
        ("GET", ["element", _, "screenshot"]) => "takeElementScreenshot",
        ("POST", ["print"]) => "printPage",
        _ => return if segments.is_empty() { "session".to_string() } else { segments.join("/") },
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_ms: i64) -> TestGridSession {
        TestGridSession {
            created_ms,
            ended_ms: None,
            end_reason: None,
            selenium_properties: "{}".into(),
            browser: "chrome".into(),
            browser_version: None,
            host: "local".into(),
            replica: "r".into(),
            replica_url: "http://127.0.0.1:1".into(),
            artifacts: Vec::new(),
        }
    }

    #[test]
    fn a_session_is_active_until_its_first_end() {
        let mut s = session(1_000);
        assert_eq!(s.status(), SessionStatus::Active);
        assert!(s.end(61_500, EndReason::Quit));
        assert!(!s.end(90_000, EndReason::BrowserDied("gone".into())));
        assert_eq!(s.status(), SessionStatus::Closed);
        assert_eq!(s.ended_ms, Some(61_500));
        assert_eq!(s.billed_seconds(1_000_000), 61);
    }

    #[test]
    fn a_dead_browser_or_lost_host_errors_the_session() {
        let mut s = session(0);
        s.end(5, EndReason::HostLost("h1".into()));
        assert_eq!(s.status(), SessionStatus::Errored);
        assert_eq!(EndReason::BrowserDied("x".into()).status(), SessionStatus::Errored);
        assert_eq!(EndReason::Idle.status(), SessionStatus::Closed);
    }

    #[test]
    fn an_active_session_bills_up_to_now_in_whole_seconds() {
        let s = session(0);
        assert_eq!(s.billed_seconds(29_001), 30);
        assert_eq!(s.billing_minutes(90_000), 1.5);
    }

    #[test]
    fn auto_close_takes_the_earlier_of_idle_and_maximum() {
        assert_eq!(auto_close(0, 10_000, 300_000, 9_000_000), (310_000, EndReason::Idle));
        assert_eq!(auto_close(0, 8_900_000, 300_000, 9_000_000), (9_000_000, EndReason::MaxDuration));
    }

    #[test]
    fn commands_are_named_as_webdriver_names_them() {
        assert_eq!(command_name("POST", "/url"), "navigateTo");
        assert_eq!(command_name("POST", "/element"), "findElement");
        assert_eq!(command_name("POST", "/element/abc-123/click"), "elementClick");
        assert_eq!(command_name("GET", "/element/abc/attribute/href"), "getElementAttribute");
        assert_eq!(command_name("POST", "/execute/sync"), "executeScript");
        assert_eq!(command_name("GET", "/screenshot"), "takeScreenshot");
        assert_eq!(command_name("DELETE", ""), "deleteSession");
        assert_eq!(command_name("POST", "/goog/cdp/execute"), "goog/cdp/execute");
    }
}
