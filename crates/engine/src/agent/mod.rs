//! The line between the control plane (API, store, scheduler) and the device hosts that
//! run real jobs. A host's [`crate::executor::Executor`] reaches the control plane only
//! through a [`JobLink`]: [`DirectLink`] when the host is the server process itself,
//! a network link for `farmhand agent` on another machine. Either way the control plane
//! applies what hosts report with [`DirectLink`], so the rules live once.
//!
//! - [`protocol`]: the messages between the two, and what a host is given to run a job.
//! - [`link`]: the [`JobLink`] trait.
//! - [`direct`]: [`DirectLink`], the control plane's side over the store and blob store.
//! - [`hosts`]: [`Hosts`], how the scheduler hands real jobs to hosts and has them tended.
//! - [`local`]: [`LocalHosts`], an executor in the scheduler's process (benchmarks, tests).

pub mod direct;
pub mod hosts;
pub mod link;
pub mod local;
pub mod protocol;

pub use direct::DirectLink;
pub use hosts::Hosts;
pub use link::{JobLink, LinkError, Orders};
pub use local::LocalHosts;
pub use protocol::{Assignment, InputFile};
