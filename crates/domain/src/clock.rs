//! Time, injected. Rules take "now" as an argument; the engine and server ask a [`Clock`]
//! for it, so tests drive time deterministically instead of sleeping.

/// Milliseconds since the Unix epoch.
pub type EpochMs = i64;

pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> EpochMs;
}

/// Epoch milliseconds → the epoch seconds (fractions allowed) the wire format uses.
pub fn to_epoch_seconds(ms: EpochMs) -> f64 {
    ms as f64 / 1000.0
}
