//! Property tests: whatever farmhand signs, it verifies; and any change to the body breaks
//! a header-form signature.

// Test fixtures are trusted; a panic is the right failure.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use protocol::sigv4::string_to_sign::sha256_hex;
use protocol::sigv4::{
    parse, presign, sign_headers, AuthError, Expectation, PresignTarget, RequestParts, SigningParams,
};

const EXPECT: Expectation<'static> = Expectation { region: "us-west-2", service: "devicefarm" };
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, 9, 30, 15).single().unwrap()
}

fn params() -> SigningParams<'static> {
    SigningParams { access_key_id: "AKID", secret: SECRET, region: "us-west-2", service: "devicefarm", time: now() }
}

/// A wire path: segments of unreserved characters, percent escapes, UTF-8 and dots.
fn path() -> impl Strategy<Value = String> {
    prop::collection::vec("([A-Za-z0-9._~-]|%[0-9A-F]{2}|é|ሴ|\\.\\.?){0,8}", 0..5)
        .prop_map(|segs| format!("/{}", segs.join("/")))
}

/// A wire query: keys and values already percent-encoded or raw, in any order.
fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(("[A-Za-z0-9%~+-]{1,8}", "[A-Za-z0-9%~+=-]{0,8}"), 0..5)
        .prop_map(|pairs| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("x-[a-z0-9-]{1,10}", "[ -~]{0,20}"), 0..5)
}

proptest! {
    #[test]
    fn header_signature_round_trips(path in path(), query in query(), mut headers in headers(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        headers.push(("host".to_owned(), "127.0.0.1:8080".to_owned()));
        let hash = sha256_hex(&body);
        let req = RequestParts { method: "POST", raw_path: &path, raw_query: &query, headers: &headers, payload_sha256: Some(&hash) };
        let added = sign_headers(&req, &params()).unwrap();
        headers.extend(added);
        let req = RequestParts { method: "POST", raw_path: &path, raw_query: &query, headers: &headers, payload_sha256: Some(&hash) };
        let parsed = parse(&req).unwrap();
        prop_assert!(parsed.verify(SECRET, now(), &EXPECT).is_ok(), "{}", parsed.canonical_request());
    }

    #[test]
    fn flipping_any_body_byte_fails(body in prop::collection::vec(any::<u8>(), 1..64), index in any::<prop::sample::Index>(), bit in 0u8..8, declare_hash in any::<bool>()) {
        let hash = sha256_hex(&body);
        let mut headers = vec![("host".to_owned(), "farm".to_owned())];
        if declare_hash {
            headers.push(("x-amz-content-sha256".to_owned(), hash.clone()));
        }
        let req = RequestParts { method: "POST", raw_path: "/", raw_query: "", headers: &headers, payload_sha256: Some(&hash) };
        let added = sign_headers(&req, &params()).unwrap();
        headers.extend(added);

        let mut tampered = body.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= 1 << bit;
        let tampered_hash = sha256_hex(&tampered);
        let req = RequestParts { method: "POST", raw_path: "/", raw_query: "", headers: &headers, payload_sha256: Some(&tampered_hash) };
        let result = parse(&req).unwrap().verify(SECRET, now(), &EXPECT);
        let expected = if declare_hash { AuthError::ContentSha256Mismatch } else { AuthError::SignatureMismatch };
        prop_assert_eq!(result, Err(expected));
    }

    #[test]
    fn presigned_url_round_trips(path in path(), extra in prop::collection::vec(("[A-Za-z][A-Za-z0-9]{0,6}", "[ -~]{0,10}"), 0..4), expires in 1u64..=604_800) {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let query = presign(
            &PresignTarget { method: "PUT", url_base: "http://127.0.0.1:8080", path: &path, extra_query: &extra, expires_secs: expires },
            &params(),
        ).unwrap();
        let headers = vec![("host".to_owned(), "127.0.0.1:8080".to_owned())];
        let req = RequestParts { method: "PUT", raw_path: &path, raw_query: &query, headers: &headers, payload_sha256: None };
        let parsed = parse(&req).unwrap();
        prop_assert!(parsed.verify(SECRET, now(), &EXPECT).is_ok(), "{}", parsed.canonical_request());
        let late = now() + chrono::Duration::seconds(i64::try_from(expires).unwrap() + 1);
        let expired = matches!(parsed.verify(SECRET, late, &EXPECT), Err(AuthError::Expired { .. }));
        prop_assert!(expired);
    }
}
