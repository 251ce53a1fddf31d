//! # engine
//!
//! The control plane: what happens after the API accepts a request. Uploads are inspected,
//! runs are scheduled onto devices, ended jobs are settled, simulated jobs are played and
//! their artifacts rendered. Real jobs run on device hosts (the `host` crate), reached
//! through [`agent`].
//!
//! ## Layout
//! - [`upload_processing`]: an upload's PROCESSING → SUCCEEDED/FAILED step, and its
//!   resumption after a restart.
//! - [`artifacts`]: a job's artifacts, rendered (simulated) or stored (real).
//! - [`blob_keys`]: where each kind of file is kept in the blob store.
//! - [`samples`]: performance series of jobs (ListSamples), simulated or stored by hosts.
//! - [`agent`]: the control plane's side of the line to device hosts ([`agent::DirectLink`]).
//! - [`live_fleet`]: the fleet file's simulated devices plus those of the device hosts.
//! - [`scheduler`]: the loop that assigns devices to waiting jobs and settles ended ones.
//! - [`offering_ledgers`]: each account's stored offering ledger (slot purchases, renewals).
//! - [`job_view`]: a stored job seen at an instant (snapshot, ledger line).
//! - [`sim_screen`]: a simulated device's screen for remote access, drawn and encoded.
//! - [`sim_artifacts`]: the artifacts of simulated jobs, rendered on demand: logs, results,
//!   screenshots, [`sim_transcript`] (test spec output), [`sim_customer_zip`] (Customer
//!   Artifacts) and [`sim_video`] (the MP4, made with ffmpeg and kept once made).
//! - [`sim`]: the simulated devices' script (`farmhand-sim.yaml`) → each job's plan.
//! - [`stop_events`]: a recorded stop, told once to the scheduler, the hub and the live pages.

pub mod agent;
pub mod artifacts;
pub mod blob_keys;
pub mod job_view;
pub mod live_fleet;
pub mod offering_ledgers;
pub mod samples;
pub mod scheduler;
pub mod sim;
pub mod sim_artifacts;
pub mod sim_customer_zip;
#[cfg(test)]
mod sim_fixtures;
pub mod sim_screen;
pub mod sim_transcript;
pub mod sim_video;
pub mod stop_events;
pub mod upload_processing;
