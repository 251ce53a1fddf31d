//! # host
//!
//! What a device host runs: it is given jobs over a [`agent::JobLink`], runs their test
//! specs as real processes on real devices, and reports what happened. `farmhand serve` runs
//! it in process for its own fleet; `farmhand agent` runs it on another machine. It never
//! sees the store: everything it learns or reports crosses the link.
//!
//! ## Layout
//! - [`agent`]: its side of the line to the control plane: the [`agent::JobLink`] trait and
//!   the messages ([`agent::Assignment`], orders, reports).
//! - [`executor`]: runs an assigned job through the runner, recording what happens.
//! - [`runner`]: test-spec phases as real processes (process groups, stop, logs, artifacts,
//!   the job's own network namespace).
//! - [`default_specs`]: what a run without a test spec runs, per test type and device.
//! - [`uploads`]: inspection and extraction of uploaded files (apps, test packages, specs).
//! - [`junit`], [`instrumentation`], [`test_reports`]: the tests a real job reported.
//! - [`samples`]: performance series read from `/proc` (or a device) while a phase runs.
//! - [`script_player`]: a `scripted` device's scenario played on its host in real time.
//! - [`adb`]: Android devices over the `adb` executable.
//! - [`browser`]: desktop browsers for TestGrid sessions (display, driver, recording).
//! - [`screen`]: a device's live screen and input for remote access sessions.
//! - [`ffmpeg`]: the video tool (joining adb screen recordings, simulated jobs' video).

pub mod adb;
pub mod agent;
pub mod browser;
pub mod default_specs;
pub mod executor;
pub mod ffmpeg;
pub mod instrumentation;
pub mod junit;
pub mod logging;
pub mod runner;
pub mod samples;
pub mod screen;
pub mod script_player;
pub mod test_reports;
pub mod uploads;
