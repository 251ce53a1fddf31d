//! The control plane's side of the line to device hosts (the host's side, the
//! [`host::agent::JobLink`] trait and its messages, is in the `host` crate). Whether the
//! host runs in this process or is a `farmhand agent` on another machine, the control
//! plane applies what hosts report with [`DirectLink`], so the rules live once.
//!
//! - [`direct`]: [`DirectLink`], the link's implementation over the store and blob store.
//! - [`hosts`]: [`Hosts`], how the scheduler hands real jobs to hosts and has them tended.
//! - [`local`]: [`LocalHosts`], an executor in the scheduler's process (benchmarks, tests).

pub mod direct;
pub mod hosts;
pub mod local;

pub use direct::DirectLink;
pub use hosts::Hosts;
pub use local::LocalHosts;
