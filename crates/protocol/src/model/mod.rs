//! The service model, as generated Rust: the [`Operation`] enum, one type per shape, and
//! the constraint table that [`validate`] checks request bodies against.

mod generated;
pub mod schema;
pub mod validate;

pub use generated::*;
