//! # domain
//!
//! farmhand's pure types and rules. Nothing here does I/O, reads a clock or spawns a
//! task: callers pass in the time and the data, and get decisions back. That keeps every
//! rule unit- and property-testable, and lets the same rule serve the API, the engine and
//! the store.
//!
//! ## Layout
//! - [`artifact`]: the category (FILE, LOG, SCREENSHOT) each artifact type is listed under.
//! - [`arn`]: parsing and building every Device Farm ARN farmhand issues.
//! - [`account`]: accounts, access keys and per-account settings and limits.
//! - [`curated_specs`]: the curated test spec uploads every project has.
//! - [`device`]: the fleet (devices, instances, instance profiles), device filters, pool
//!   rules and compatibility.
//! - [`clock`]: the injected clock.
//! - [`job`]: job plans, statuses and results, the timeline, the stop rules, billing.
//! - [`network`]: a job's network: its profile's shaping and its private service names.
//! - [`network_profile`]: network profiles: ranges, stored form, the curated set.
//! - [`vpce`]: VPC endpoint configurations and the name each gives a private service.
//! - [`offering`]: the offering catalog and an account's ledger of slot purchases and renewals.
//! - [`remote_access`]: remote access sessions: their course, ends and bill.
//! - [`resources`]: stored form of projects, device pools and uploads.
//! - [`run`]: stored form of runs and jobs (what the timeline derives everything from).
//! - [`scheduling`]: which waiting job gets which device instance.
//! - [`testgrid`]: desktop browser testing: TestGrid projects, sessions, their actions.
//! - [`upload`]: upload types, the naming rules per type and the upload status.

pub mod account;
pub mod arn;
pub mod artifact;
pub mod clock;
pub mod curated_specs;
pub mod device;
pub mod host;
pub mod job;
pub mod network;
pub mod network_profile;
pub mod offering;
pub mod record_kind;
pub mod remote_access;
pub mod resources;
pub mod run;
pub mod scheduling;
pub mod testgrid;
pub mod upload;
pub mod vpce;
