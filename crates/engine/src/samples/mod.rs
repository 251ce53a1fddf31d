//! Performance samples of a job (ListSamples): one time series per measured SampleType.
//!
//! - [`series`]: the measured types and the series' download format.
//! - [`sim`]: a simulated job's series, derived from its snapshot.
//! - [`procfs`]: reading a host job's processes and network from `/proc`.

pub mod procfs;
pub mod series;
pub mod sim;

pub use series::{SampleKind, Series};
