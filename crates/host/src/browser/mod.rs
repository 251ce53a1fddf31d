//! Desktop browsers for TestGrid sessions: which ones this host offers (declared as
//! `[[browser]]` in its fleet file, or found on the machine), and each session as its own
//! virtual display, WebDriver driver, browser process and screen recording.
//!
//! - [`capabilities`]: a "New Session" request matched to an offered browser.
//! - [`session`]: one running session, its commands and its end.
//! - [`display`], [`recorder`]: the session's Xvfb and its ffmpeg recording.
//! - [`hosted`]: the sessions a device host runs for the control plane over its link.

pub mod capabilities;
pub mod display;
pub mod hosted;
pub mod recorder;
pub mod session;

use domain::testgrid::BrowserDeclaration;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserKind {
    Chrome,
    Firefox,
}

impl BrowserKind {
    /// The name sessions and the dashboard use (`browserName` as AWS documents it).
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chrome => "chrome",
            BrowserKind::Firefox => "firefox",
        }
    }

    /// The `browserName` the driver itself expects.
    pub fn driver_name(self) -> &'static str {
        self.name()
    }

    /// The browser a client's `browserName` asks for (case as clients write it).
    pub fn from_capability(name: &str) -> Option<BrowserKind> {
        match name.to_ascii_lowercase().as_str() {
            "chrome" | "chromium" | "googlechrome" => Some(BrowserKind::Chrome),
            "firefox" => Some(BrowserKind::Firefox),
            _ => None,
        }
    }

    fn driver_names(self) -> &'static [&'static str] {
        match self {
            BrowserKind::Chrome => &["chromedriver"],
            BrowserKind::Firefox => &["geckodriver"],
        }
    }

    fn binary_names(self) -> &'static [&'static str] {
        match self {
            BrowserKind::Chrome => &["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"],
            BrowserKind::Firefox => &["firefox-esr", "firefox"],
        }
    }
}

/// One browser a host offers: its driver, its binary, its version and how many sessions
/// of it may run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSpec {
    pub kind: BrowserKind,
    pub driver: PathBuf,
    pub binary: PathBuf,
    pub version: Option<String>,
    pub max_sessions: u32,
}

/// Sessions of one browser a host runs at once unless told otherwise: two per core (a
/// browser session mostly waits on its client; `./scripts/bench` measures the limit).
pub fn default_max_sessions() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| 2 * n.get() as u32)
}

/// The browsers found on this machine's PATH (driver and binary both present), each with
/// the default session limit: what a host with no `[[browser]]` offers.
pub fn discover() -> Vec<BrowserSpec> {
    [BrowserKind::Chrome, BrowserKind::Firefox]
        .into_iter()
        .filter_map(|kind| {
            let driver = kind.driver_names().iter().find_map(|n| on_path(n))?;
            let binary = kind.binary_names().iter().find_map(|n| on_path(n))?;
            Some(BrowserSpec {
                kind,
                version: version_of(&binary),
                driver,
                binary,
                max_sessions: default_max_sessions(),
            })
        })
        .collect()
}

/// The browsers `entries` declare, with what they leave out found on PATH.
pub fn declared(entries: &[BrowserDeclaration]) -> Result<Vec<BrowserSpec>, String> {
    let mut specs: Vec<BrowserSpec> = Vec::new();
    for entry in entries {
        let kind = BrowserKind::from_capability(&entry.name)
            .ok_or_else(|| format!("[[browser]] name '{}': farmhand runs chrome and firefox", entry.name))?;
        if specs.iter().any(|s| s.kind == kind) {
            return Err(format!("[[browser]] {} is declared twice", kind.name()));
        }
        let find = |given: &Option<PathBuf>, names: &[&str], what: &str| -> Result<PathBuf, String> {
            match given {
                Some(path) if path.is_file() => Ok(path.clone()),
                Some(path) => Err(format!("[[browser]] {}: {what} {} does not exist", kind.name(), path.display())),
                None => names.iter().find_map(|n| on_path(n)).ok_or_else(|| {
                    format!("[[browser]] {}: no {what} given and none of {} is on PATH", kind.name(), names.join(", "))
                }),
            }
        };
        let driver = find(&entry.driver, kind.driver_names(), "driver")?;
        let binary = find(&entry.binary, kind.binary_names(), "binary")?;
        let max_sessions = entry.max_sessions.unwrap_or_else(default_max_sessions);
        if max_sessions == 0 {
            return Err(format!("[[browser]] {}: max_sessions must be at least 1", kind.name()));
        }
        specs.push(BrowserSpec { kind, version: version_of(&binary), driver, binary, max_sessions });
    }
    Ok(specs)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The version a browser prints (`Chromium 156.0.8078.129 built on Debian…`,
/// `Mozilla Firefox 153.8.0esr`): its first word that starts with a digit.
fn version_of(binary: &Path) -> Option<String> {
    let output = std::process::Command::new(binary).arg("--version").output().ok()?;
    parse_version(&String::from_utf8_lossy(&output.stdout))
}

fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit())).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_browsers_print() {
        assert_eq!(
            parse_version("Chromium 156.0.8078.129 built on Debian GNU/Linux 12 (bookworm)").as_deref(),
            Some("156.0.8078.129")
        );
        assert_eq!(parse_version("Mozilla Firefox 153.8.0esr").as_deref(), Some("153.8.0esr"));
        assert_eq!(parse_version("nothing"), None);
    }

    #[test]
    fn browser_names_are_read_as_clients_write_them() {
        assert_eq!(BrowserKind::from_capability("Chrome"), Some(BrowserKind::Chrome));
        assert_eq!(BrowserKind::from_capability("firefox"), Some(BrowserKind::Firefox));
        assert_eq!(BrowserKind::from_capability("safari"), None);
    }

    #[test]
    fn a_declared_browser_must_exist_and_be_known() {
        let entry = |name: &str, driver: Option<&str>| BrowserDeclaration {
            name: name.into(),
            driver: driver.map(PathBuf::from),
            binary: Some(PathBuf::from("/bin/sh")),
            max_sessions: Some(1),
        };
        assert!(declared(&[entry("opera", None)]).unwrap_err().contains("chrome and firefox"));
        assert!(declared(&[entry("chrome", Some("/nonexistent/chromedriver"))])
            .unwrap_err()
            .contains("does not exist"));
        let ok = declared(&[entry("chrome", Some("/bin/sh"))]).unwrap();
        assert_eq!((ok[0].kind, ok[0].max_sessions), (BrowserKind::Chrome, 1));
        assert!(declared(&[entry("chrome", Some("/bin/sh")), entry("chromium", Some("/bin/sh"))])
            .unwrap_err()
            .contains("twice"));
    }
}
