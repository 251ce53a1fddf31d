//! Keeps one client from starving the others: a token bucket per access key for the JSON
//! API, and one per source address for failed authentications. Both live in this replica's
//! memory only; N replicas allow N times the rate, which is fine for abuse protection.
//!
//! Hand-written rather than `governor`'s keyed limiter: the whole of it is a few dozen
//! lines, takes the time as an argument (so the tests need no sleeps), and bounds its map
//! by itself instead of needing a background task to call `retain_recent`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// More distinct keys than this and full (idle) buckets are forgotten: a full bucket is
/// the same as no bucket, so forgetting it changes no answer.
const MAX_TRACKED: usize = 10_000;

/// Failed authentications one address may make per second, and in a burst, before its
/// requests for keys not seen verified are refused unchecked. A client with a wrong clock
/// or secret fails a few times, not hundreds.
const FAILURES_PER_SECOND: f64 = 20.0;
const FAILURE_BURST: f64 = 100.0;

/// Tokens added per second and the most a bucket holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, bounded to [`MAX_TRACKED`] keys.
#[derive(Debug)]
pub struct KeyedBuckets<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> KeyedBuckets<K> {
    pub fn new(rate: Rate) -> Self {
        Self { rate, buckets: Mutex::new(HashMap::new()) }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst)
    }

    /// Whether `key` has a token now, without spending it.
    pub fn has_token(&self, key: &K, now: Instant) -> bool {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.get(key).is_none_or(|b| self.refilled(*b, now) >= 1.0)
    }

    /// Whether `key` has ever been charged and is still remembered.
    pub fn knows(&self, key: &K) -> bool {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).contains_key(key)
    }

    /// Spends one of `key`'s tokens; false when it has none left.
    pub fn take(&self, key: &K, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= MAX_TRACKED {
            buckets.retain(|_, b| self.refilled(*b, now) < self.rate.burst);
            if buckets.len() >= MAX_TRACKED {
                // Every remembered key is busy: the newcomer goes uncounted rather than
                // the map growing without bound.
                return true;
            }
        }
        let full = Bucket { tokens: self.rate.burst, at: now };
        let bucket = buckets.entry(key.clone()).or_insert(full);
        let tokens = self.refilled(*bucket, now);
        let allowed = tokens >= 1.0;
        *bucket = Bucket { tokens: if allowed { tokens - 1.0 } else { tokens }, at: now };
        allowed
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The server's limits: what the JSON API's authentication consults.
#[derive(Debug)]
pub struct Throttle {
    /// `None` when per-key limiting is off.
    per_key: Option<KeyedBuckets<String>>,
    /// Keys whose signature verified lately, so a noisy address does not lock out the
    /// good clients behind the same address (a NAT, a load balancer).
    verified: KeyedBuckets<String>,
    failures: KeyedBuckets<IpAddr>,
}

impl Throttle {
    /// `per_key` of `None` leaves the JSON API unlimited per key.
    pub fn new(per_key: Option<Rate>) -> Self {
        let unlimited = Rate { per_second: f64::INFINITY, burst: f64::INFINITY };
        Self {
            per_key: per_key.map(KeyedBuckets::new),
            verified: KeyedBuckets::new(unlimited),
            failures: KeyedBuckets::new(Rate { per_second: FAILURES_PER_SECOND, burst: FAILURE_BURST }),
        }
    }

    /// Before the store is asked about `key_id`: false when the request is to be refused
    /// unchecked, because its key is out of tokens, or because its address has failed too
    /// often and the key is not one seen verified.
    pub fn may_verify(&self, key_id: &str, peer: Option<IpAddr>, now: Instant) -> bool {
        let key = key_id.to_string();
        if self.per_key.as_ref().is_some_and(|b| !b.has_token(&key, now)) {
            return false;
        }
        match peer {
            Some(ip) if !self.failures.has_token(&ip, now) => self.verified.knows(&key),
            _ => true,
        }
    }

    /// A signature verified: charges its key. False when the key is over its rate.
    pub fn admit(&self, key_id: &str, now: Instant) -> bool {
        let key = key_id.to_string();
        self.verified.take(&key, now);
        self.per_key.as_ref().is_none_or(|b| b.take(&key, now))
    }

    /// An authentication failed.
    pub fn failed(&self, peer: Option<IpAddr>, now: Instant) {
        if let Some(ip) = peer {
            self.failures.take(&ip, now);
        }
    }
}

/// The error code of a throttled request (not one of the model's errors, so not an `ErrorCode`).
pub const THROTTLED_CODE: &str = protocol::ErrorCode::Throttling.as_str();

/// AWS's answer to a client over its rate: HTTP 400 `ThrottlingException`, which the SDKs
/// retry with back-off.
pub fn throttled_response(request_id: &str) -> Response {
    let body = serde_json::json!({"__type": THROTTLED_CODE, "message": "Rate exceeded"}).to_string();
    let mut response = (StatusCode::BAD_REQUEST, body).into_response();
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(super::http::JSON_1_1));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rate(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst }
    }

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let buckets = KeyedBuckets::new(rate(2.0, 3.0));
        let t0 = Instant::now();
        let key = "a".to_string();
        assert!((0..3).all(|_| buckets.take(&key, t0)));
        assert!(!buckets.take(&key, t0));
        assert!(!buckets.has_token(&key, t0 + Duration::from_millis(400)));
        assert!(buckets.take(&key, t0 + Duration::from_millis(500)));
        assert!(!buckets.take(&key, t0 + Duration::from_millis(500)));
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let buckets = KeyedBuckets::new(rate(1.0, 1.0));
        let t0 = Instant::now();
        assert!(buckets.take(&"a".to_string(), t0));
        assert!(!buckets.take(&"a".to_string(), t0));
        assert!(buckets.take(&"b".to_string(), t0));
    }

    #[test]
    fn the_map_stays_bounded_and_forgets_only_idle_keys() {
        let buckets = KeyedBuckets::new(rate(1.0, 2.0));
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED {
            buckets.take(&i, t0);
        }
        assert_eq!(buckets.len(), MAX_TRACKED);
        // Everyone is mid-bucket: a newcomer is let through uncounted.
        assert!(buckets.take(&usize::MAX, t0));
        assert_eq!(buckets.len(), MAX_TRACKED);
        // Later every bucket has refilled: they are forgotten to make room.
        assert!(buckets.take(&usize::MAX, t0 + Duration::from_secs(5)));
        assert_eq!(buckets.len(), 1);
    }

    #[test]
    fn an_exhausted_key_is_refused_before_verification_and_others_are_not() {
        let throttle = Throttle::new(Some(rate(1.0, 2.0)));
        let t0 = Instant::now();
        assert!(throttle.may_verify("AK1", None, t0));
        assert!(throttle.admit("AK1", t0));
        assert!(throttle.admit("AK1", t0));
        assert!(!throttle.admit("AK1", t0));
        assert!(!throttle.may_verify("AK1", None, t0));
        assert!(throttle.may_verify("AK2", None, t0));
        assert!(throttle.may_verify("AK1", None, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn without_a_rate_keys_are_unlimited() {
        let throttle = Throttle::new(None);
        let t0 = Instant::now();
        assert!((0..10_000).all(|_| throttle.admit("AK", t0)));
    }

    #[test]
    fn a_failing_address_is_refused_except_for_keys_seen_verified() {
        let throttle = Throttle::new(None);
        let t0 = Instant::now();
        let noisy = Some(IpAddr::from([10, 0, 0, 1]));
        let other = Some(IpAddr::from([10, 0, 0, 2]));
        throttle.admit("GOOD", t0);
        for _ in 0..FAILURE_BURST as usize {
            assert!(throttle.may_verify("BAD", noisy, t0));
            throttle.failed(noisy, t0);
        }
        assert!(!throttle.may_verify("BAD", noisy, t0));
        assert!(throttle.may_verify("GOOD", noisy, t0));
        assert!(throttle.may_verify("BAD", other, t0));
        assert!(throttle.may_verify("BAD", noisy, t0 + Duration::from_secs(1)));
    }
}
