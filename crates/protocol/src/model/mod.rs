//! The service model, as generated Rust: the [`Operation`] enum, one type per shape, and
//! the constraint table that [`validate`] checks request bodies against.

// Byte for byte what codegen writes, so `scripts/test` can compare it with a fresh run.
#[rustfmt::skip]
mod generated;
pub mod schema;
pub mod validate;

pub use generated::*;
