//! Jobs: what runs on one device for one run, and the rules that decide its state.
//!
//! - [`status`]: ExecutionStatus / ExecutionResult.
//! - [`plan`]: what a job will do (setup, tests, teardown) before it starts.

pub mod plan;
pub mod status;
