//! Leases: one holder at a time for work that must not run twice in parallel across
//! replicas (the job scheduler). A lease expires unless renewed, so a crashed holder is
//! replaced; its fencing token makes a paused former holder's late writes fail instead of
//! landing on top of its successor's.

/// A lease as held: name, holder and the token its writes are fenced with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub token: i64,
}
