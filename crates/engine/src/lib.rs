//! # engine
//!
//! What happens after the API accepts a request: uploads are inspected, runs are
//! scheduled onto devices, jobs are driven and stopped.
//!
//! ## Layout
//! - [`upload_processing`]: an upload's PROCESSING → SUCCEEDED/FAILED step, and its
//!   resumption after a restart.
//! - [`uploads`]: inspection of uploaded files (apps, test packages, test specs).
//! - [`artifacts`]: a job's artifacts, rendered (simulated) or stored (real).
//! - [`samples`]: performance series of jobs (ListSamples), simulated or read from `/proc`.
//! - [`agent`]: the line between the control plane and device hosts ([`agent::JobLink`]).
//! - [`executor`]: runs jobs on real devices through the runner, recording what happens.
//! - [`live_fleet`]: the fleet file's simulated devices plus those of the device hosts.
//! - [`scheduler`]: the loop that assigns devices to waiting jobs and settles ended ones.
//! - [`offering_ledgers`]: each account's stored offering ledger (slot purchases, renewals).
//! - [`job_view`]: a stored job seen at an instant (snapshot, ledger line).
//! - [`ffmpeg`]: the video tool (simulated jobs' Video, joining adb screen recordings).
//! - [`sim_artifacts`]: the artifacts of simulated jobs, rendered on demand: logs, results,
//!   screenshots, [`sim_transcript`] (test spec output), [`sim_customer_zip`] (Customer
//!   Artifacts) and [`sim_video`] (the MP4, made with ffmpeg and kept once made).
//! - [`sim`]: the simulated devices' script (`farmhand-sim.yaml`) → each job's plan.
//! - [`script_player`]: a `scripted` device's scenario played on its host in real time.
//! - [`runner`]: test-spec phases as real processes (process groups, stop, logs, artifacts).
//! - [`default_specs`]: what a run without a test spec runs, per test type and device.
//! - [`junit`]: JUnit XML reports → the tests of a job's Tests Suite.
//! - [`instrumentation`]: Android `am instrument -r` output → the same tests.
//! - [`test_reports`]: every test a real job reported, whatever format it came in.
//! - [`adb`]: Android devices over the `adb` executable: discovery, app install,
//!   instance-profile cleanup, plug/unplug watching.

pub mod adb;
pub mod agent;
pub mod artifacts;
pub mod default_specs;
pub mod executor;
pub mod ffmpeg;
pub mod instrumentation;
pub mod job_view;
pub mod junit;
pub mod live_fleet;
pub mod offering_ledgers;
pub mod runner;
pub mod samples;
pub mod scheduler;
pub mod script_player;
pub mod sim;
pub mod sim_artifacts;
pub mod sim_customer_zip;
#[cfg(test)]
mod sim_fixtures;
pub mod sim_transcript;
pub mod sim_video;
pub mod test_reports;
pub mod upload_processing;
pub mod uploads;
