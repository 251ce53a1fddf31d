//! Performance samples measured on a host while a job's phase runs (ListSamples' real series).
//!
//! - [`series`]: the measured types and the series' download format.
//! - [`host`]: sampling a host job's phase as it runs.
//! - [`procfs`]: reading a host job's processes and network from `/proc`.

pub mod host;
pub mod procfs;
pub mod series;

pub use series::{SampleKind, Series};
