//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the migration files
//! at compile time, and on stable Rust cargo does not know it reads them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
