//! The simulated driver's script: `farmhand-sim.yaml`, a file at the root of a test
//! package that says what each simulated device does during a job (how long setup and
//! teardown take, which tests run, for how long, with what result and message).
//!
//! ## The file
//!
//! ```yaml
//! setup_seconds: 2          # Setup Suite length; default 5
//! teardown_seconds: 1       # Teardown Suite length; default 5
//! tests:                    # the Tests Suite, in order; default: three passing tests of 10 s
//!   - {name: test_login, seconds: 3, result: PASSED}
//!   - {name: test_checkout, seconds: 3.5, result: FAILED, message: "expected 200, got 500"}
//!   - {name: test_search, seconds: 0.25}          # result defaults to PASSED
//! customer_artifacts:       # files in the job's "Customer Artifacts" zip; default none
//!   - {path: reports/summary.txt, text: "3 tests, 1 failure\n"}
//! devices:                  # per-device overrides
//!   - match: {name: "Google Pixel 8"}             # this device only (exact name)
//!     tests:
//!       - {name: test_login, seconds: 3, result: ERRORED, message: "app crashed"}
//!   - match: {platform: IOS}                      # every iOS device
//!     setup_seconds: 4
//!   - match: {name: "Apple iPhone 15", platform: IOS}
//!     teardown_seconds: 0
//! ```
//!
//! Keys, all optional:
//! - `setup_seconds`, `teardown_seconds`: numbers of seconds, fractions allowed, from 0
//!   to 86400 (a day); kept to the millisecond. Missing: 5.
//! - `tests`: a list of tests; missing: three passing tests of 10 s
//!   ([`domain::job::plan::JobPlan::default_simulation`]). `tests: []` means the job
//!   reports no test cases (its Tests Suite then shows the single "Tests" test). At most
//!   10,000 entries. Each test has
//!   - `name` (required): 1 to 256 characters, no control characters; names may repeat;
//!   - `seconds` (required): as `setup_seconds`;
//!   - `result`: `PASSED` (default), `FAILED`, `WARNED`, `SKIPPED` or `ERRORED` — the
//!     result the test reaches if it runs to its end. `STOPPED` and `PENDING` are not
//!     allowed: farmhand decides those;
//!   - `message`: the test's message, at most 16,384 characters.
//! - `customer_artifacts`: the files the job leaves in its Customer Artifacts zip (what a
//!   real job's test spec collects from its `artifacts` paths), at most 1,000. Each has
//!   `path` (required: relative, `/`-separated, no empty, `.` or `..` segment, no
//!   backslash, at most 1,024 characters, each path once) and `text` (required: the
//!   file's content). Missing: the job has no Customer Artifacts.
//! - `devices`: a list of overrides (at most 10,000). Each has a `match` with a `name`
//!   (a device's exact, case-sensitive name), a `platform` (`ANDROID` or `IOS`) or both
//!   (both must hold), and any of `setup_seconds`, `teardown_seconds`, `tests`,
//!   `customer_artifacts`, which
//!   replace the top-level value for the devices it matches. Overrides do not nest.
//!
//! How a device's plan is built: the defaults, then the top-level keys, then every
//! matching override from least to most specific (platform, then name, then name and
//! platform), each replacing only the keys it sets. So a name override beats a platform
//! override, and a device matched by both takes from the platform override whatever the
//! name override leaves out. Two overrides with the same `match` are refused, so file
//! order never decides.
//!
//! Anything else is an error with the line of the problem: an unknown key, a key written
//! without a value (`tests:` alone — leave the key out for the default), a repeated key,
//! a value out of range. An empty file is the same as no file.
//!
//! Where the file is looked for in the zip: [`package`].
//!
//! ## Layout
//! - [`scenario`]: [`Scenario`] and how it becomes one device's `JobPlan` (`plan_for`).
//! - [`parse`]: the text → `Scenario`, with the format's checks and limits.
//! - [`package`]: [`read_from_package`], finding and reading the file in a test package.
//! - [`stored`]: the file kept beside its package in the blob store at upload time, and
//!   [`stored::load`], which is how a run gets its scenario without the whole package.
//! - [`error`]: [`ScenarioError`], what went wrong and where.
//!
//! **Architecture Invariant:** this module only decides plans; it keeps no clock and no
//! state. The same package and device always give the same `JobPlan`, which is what lets
//! the simulation replay a job from its persisted timestamps after a restart.

pub mod error;
pub mod package;
pub mod parse;
pub mod scenario;
pub mod stored;

pub use error::ScenarioError;
pub use package::{read_from_package, ScenarioSource};
pub use scenario::Scenario;
