//! The device fleet and the rules that pick devices from it.
//!
//! ## Layout
//! - [`model`]: `Device`, `DeviceInstance`, `InstanceProfile`, `Cpu`, `Resolution`.
//! - [`enums`], [`attribute`]: the model's enums, each with `as_str`/`parse` in the
//!   wire spelling; which operator each filter/rule attribute allows.
//! - [`os_version`]: numeric ordering of dotted OS versions.
//! - [`fleet`]: the fleet file (TOML) and the built-in demo fleet; [`ids`]: the
//!   deterministic ARNs of fleet-defined things.
//! - [`filter`]: device filters (ListDevices, ScheduleRun device selection).
//! - [`rule`]: device-pool rules with AWS's JSON-encoded values.
//! - [`condition`]: how a filter or rule value compares with a device (shared by both).
//! - [`selection`]: rules/filters + `maxDevices` → the devices of a run.
//! - [`curated`]: the built-in "Top Devices" pool.
//! - [`compat`]: why a device cannot run an app or test type.
//!
//! **Architecture Invariant:** nothing here knows about accounts, projects or time;
//! availability is the fleet's static baseline, and whether a device is busy right now
//! is the engine's business.

pub mod android_api;
pub mod attribute;
pub mod compat;
pub mod condition;
pub mod curated;
pub mod driver;
pub mod enums;
pub mod filter;
pub mod fleet;
mod fleet_file;
pub mod ids;
pub mod live;
pub mod model;
pub mod os_version;
pub mod rule;
pub mod selection;
mod wire_enum;

#[cfg(test)]
pub(crate) mod test_support;

pub use attribute::{DeviceAttribute, DeviceFilterAttribute, RuleOperator};
pub use compat::{check_compatibility, check_pool, test_type_platform, AppInfo, DeviceCompatibility, Incompatibility};
pub use condition::ValueError;
pub use curated::{curated_pools, CuratedPool, TOP_DEVICES, TOP_DEVICES_ID};
pub use driver::Driver;
pub use enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType, InstanceStatus};
pub use filter::{matches_all, validate_filters, DeviceFilter, FilterError};
pub use fleet::{Fleet, FleetError};
pub use live::live;
pub use model::{Cpu, Device, DeviceInstance, InstanceProfile, Resolution};
pub use os_version::{InvalidOsVersion, OsVersion};
pub use rule::{matches_all_rules, validate_rules, Rule, RuleError};
pub use selection::{select_by_filters, select_by_rules};
pub use wire_enum::UnknownVariant;
