//! Desktop browser testing (TestGrid): the WebDriver hub behind CreateTestGridUrl's URLs
//! and the sessions it runs on this server's browsers.
//!
//! - [`token`]: the sealed token in a hub URL (account, project, expiry).
//! - [`hub`]: the W3C WebDriver routes: new session, commands, quit.
//! - [`live`]: the sessions this replica runs: their browsers, quotas, timeouts and end.
//! - [`backend`]: where a session's browser runs, this server or a device host ([`remote`]).
//! - [`actions`]: commands recorded as session actions, written in batches.
//! - [`artifacts`]: a session's video and Selenium log in the blob store.

pub mod actions;
pub mod artifacts;
pub mod backend;
pub mod hub;
pub mod live;
pub mod remote;

use std::path::PathBuf;
use std::time::Duration;

/// The limits AWS documents for desktop browser testing, per account, and the session
/// timeouts; all configurable (`[testgrid]` in the config file).
#[derive(Debug, Clone, PartialEq)]
pub struct GridConfig {
    pub max_active_sessions: u32,
    pub sessions_per_second: f64,
    pub urls_per_second: f64,
    pub max_body_bytes: usize,
    /// Without a command for this long (service clock), a session closes.
    pub idle_timeout: Duration,
    /// A session closes this long after it began (service clock).
    pub max_duration: Duration,
    /// Where sessions keep their browser profiles, video and log while they run.
    pub work_dir: PathBuf,
    /// Whether this server runs browsers itself; without, sessions go to device hosts.
    pub local_browsers: bool,
}

impl GridConfig {
    pub fn with_work_dir(work_dir: PathBuf) -> GridConfig {
        GridConfig {
            max_active_sessions: 50,
            sessions_per_second: 5.0,
            urls_per_second: 10.0,
            max_body_bytes: 30 * 1024 * 1024,
            idle_timeout: Duration::from_secs(5 * 60),
            max_duration: Duration::from_secs(150 * 60),
            work_dir,
            local_browsers: true,
        }
    }
}
