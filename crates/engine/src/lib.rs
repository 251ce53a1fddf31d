//! # engine
//!
//! What happens after the API accepts a request: uploads are inspected, runs are
//! scheduled onto devices, jobs are driven and stopped.
//!
//! ## Layout
//! - [`upload_processing`]: an upload's PROCESSING → SUCCEEDED/FAILED step, and its
//!   resumption after a restart.
//! - [`uploads`]: inspection of uploaded files (apps, test packages, test specs).
//! - [`sim`]: the simulated devices' script (`farmhand-sim.yaml`) → each job's plan.

pub mod job_view;
pub mod scheduler;
pub mod sim;
pub mod upload_processing;
pub mod uploads;
