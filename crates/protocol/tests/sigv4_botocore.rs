//! Requests signed by the real botocore (`sigv4_vectors/botocore/botocore.json`, made by
//! `make_fixture.py` next to it) must verify, and must stop verifying when tampered with.

// Test fixtures are trusted; a panic is the right failure.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use protocol::sigv4::string_to_sign::sha256_hex;
use protocol::sigv4::{
    parse, presign, AuthError, AuthForm, Expectation, PresignTarget, RequestParts, SigningParams, VerifiedRequest,
};
use serde_json::Value;

const BASE: &str = "http://127.0.0.1:8080";
const EXPECT: Expectation<'static> = Expectation { region: "us-west-2", service: "devicefarm" };

struct Case {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Case {
    fn verify_at(
        &self,
        secret: &str,
        now: DateTime<Utc>,
        expect: &Expectation<'_>,
    ) -> Result<VerifiedRequest, AuthError> {
        let body_hash = sha256_hex(&self.body);
        let req = RequestParts {
            method: &self.method,
            raw_path: &self.path,
            raw_query: &self.query,
            headers: &self.headers,
            payload_sha256: Some(&body_hash),
        };
        parse(&req)?.verify(secret, now, expect)
    }

    fn set_header(&mut self, name: &str, value: &str) {
        for (n, v) in &mut self.headers {
            if n == name {
                *v = value.to_owned();
            }
        }
    }
}

struct Fixture {
    access_key_id: String,
    secret: String,
    now: DateTime<Utc>,
    list_projects: Case,
    presigned: Case,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4_vectors/botocore/botocore.json");
    let json: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let case = |name: &str| {
        let c = json["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
        let url = c["url"].as_str().unwrap().strip_prefix(BASE).unwrap();
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        Case {
            method: c["method"].as_str().unwrap().to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: c["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned()))
                .collect(),
            body: c["body"].as_str().unwrap().as_bytes().to_vec(),
        }
    };
    Fixture {
        access_key_id: json["access_key_id"].as_str().unwrap().to_owned(),
        secret: json["secret"].as_str().unwrap().to_owned(),
        now: NaiveDateTime::parse_from_str(json["now"].as_str().unwrap(), "%Y%m%dT%H%M%SZ").unwrap().and_utc(),
        list_projects: case("devicefarm-list-projects"),
        presigned: case("presigned-upload"),
    }
}

#[test]
fn botocore_devicefarm_request_verifies() {
    let f = fixture();
    let v = f.list_projects.verify_at(&f.secret, f.now + Duration::minutes(3), &EXPECT).unwrap();
    assert_eq!(v.access_key_id, f.access_key_id);
    assert_eq!(v.region, "us-west-2");
    assert_eq!(v.service, "devicefarm");
    assert_eq!(v.date, f.now);
    assert_eq!(v.form, AuthForm::Header);
    assert_eq!(v.signed_headers, ["content-type", "host", "x-amz-date", "x-amz-target"]);
}

#[test]
fn header_form_rejects_wrong_secret_and_tampering() {
    let f = fixture();
    let now = f.now;
    assert_eq!(f.list_projects.verify_at("not-the-secret", now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut body = fixture().list_projects;
    body.body = br#"{"nextToken": "abcdefghijklmnoq"}"#.to_vec();
    assert_eq!(body.verify_at(&f.secret, now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut target = fixture().list_projects;
    target.set_header("x-amz-target", "DeviceFarm_20150623.DeleteProject");
    assert_eq!(target.verify_at(&f.secret, now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut host = fixture().list_projects;
    host.set_header("host", "127.0.0.1:9090");
    assert_eq!(host.verify_at(&f.secret, now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut path = fixture().list_projects;
    path.path = "/other".to_owned();
    assert_eq!(path.verify_at(&f.secret, now, &EXPECT), Err(AuthError::SignatureMismatch));

    // Headers outside SignedHeaders may change in transit (proxies rewrite them).
    let mut agent = fixture().list_projects;
    agent.set_header("user-agent", "something-else");
    assert!(agent.verify_at(&f.secret, now, &EXPECT).is_ok());
}

#[test]
fn header_form_allows_fifteen_minutes_of_skew_and_no_more() {
    let f = fixture();
    let c = &f.list_projects;
    for ok in [Duration::minutes(15), Duration::minutes(-15), Duration::zero()] {
        assert!(c.verify_at(&f.secret, f.now + ok, &EXPECT).is_ok(), "{ok}");
    }
    let err = c.verify_at(&f.secret, f.now + Duration::minutes(16), &EXPECT).unwrap_err();
    assert_eq!(err.code().as_str(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Signature expired: 20240517T093015Z is now earlier than 20240517T093115Z \
         (20240517T094615Z - 15 min.)"
    );
    let err = c.verify_at(&f.secret, f.now - Duration::minutes(16), &EXPECT).unwrap_err();
    assert!(matches!(err, AuthError::NotYetCurrent { .. }), "{err:?}");
    assert!(err.message().starts_with("Signature not yet current: 20240517T093015Z"), "{err}");
}

#[test]
fn scope_must_name_this_region_and_service() {
    let f = fixture();
    let c = &f.list_projects;
    let err = c.verify_at(&f.secret, f.now, &Expectation { region: "eu-west-1", service: "devicefarm" }).unwrap_err();
    assert_eq!(err.code().as_str(), "InvalidSignatureException");
    assert!(err.message().contains("'eu-west-1'"), "{err}");
    assert!(err.message().contains("'us-west-2'"), "{err}");
    let err = c.verify_at(&f.secret, f.now, &Expectation { region: "us-west-2", service: "s3" }).unwrap_err();
    assert_eq!(err.message(), "Credential should be scoped to correct service: 's3'.");
}

#[test]
fn botocore_presigned_url_verifies_with_any_body() {
    let f = fixture();
    let v = f.presigned.verify_at(&f.secret, f.now + Duration::minutes(10), &EXPECT).unwrap();
    assert_eq!(v.access_key_id, f.access_key_id);
    assert_eq!(v.form, AuthForm::Presigned { expires_at: f.now + Duration::seconds(900) });
    assert_eq!(v.signed_headers, ["host"]);

    let mut other_body = fixture().presigned;
    other_body.body = b"something else entirely".to_vec();
    assert!(other_body.verify_at(&f.secret, f.now, &EXPECT).is_ok());
}

#[test]
fn presigned_url_expires_and_is_bound_to_its_path_and_query() {
    let f = fixture();
    let err = f.presigned.verify_at(&f.secret, f.now + Duration::seconds(901), &EXPECT).unwrap_err();
    assert_eq!(err.code().as_str(), "InvalidSignatureException");
    assert!(err.message().starts_with("Signature expired: 20240517T094515Z"), "{err}");
    assert!(f.presigned.verify_at(&f.secret, f.now + Duration::seconds(900), &EXPECT).is_ok());

    // Signed now, but dated further ahead than clock skew explains.
    let err = f.presigned.verify_at(&f.secret, f.now - Duration::minutes(16), &EXPECT).unwrap_err();
    assert!(matches!(err, AuthError::NotYetCurrent { .. }), "{err:?}");

    let mut other_path = fixture().presigned;
    other_path.path = other_path.path.replace("abc", "abd");
    assert_eq!(other_path.verify_at(&f.secret, f.now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut other_query = fixture().presigned;
    other_query.query = other_query.query.replace("partNumber=1", "partNumber=2");
    assert_eq!(other_query.verify_at(&f.secret, f.now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut longer = fixture().presigned;
    longer.query = longer.query.replace("X-Amz-Expires=900", "X-Amz-Expires=9000");
    assert_eq!(longer.verify_at(&f.secret, f.now, &EXPECT), Err(AuthError::SignatureMismatch));

    let mut no_signature = fixture().presigned;
    no_signature.query = no_signature.query.split("&X-Amz-Signature=").next().unwrap().to_owned();
    let err = no_signature.verify_at(&f.secret, f.now, &EXPECT).unwrap_err();
    assert_eq!(err.code().as_str(), "IncompleteSignatureException");
    assert!(err.message().contains("'X-Amz-Signature'"), "{err}");
}

#[test]
fn farmhand_presign_matches_botocore_byte_for_byte() {
    let f = fixture();
    let query = presign(
        &PresignTarget {
            method: "PUT",
            url_base: BASE,
            path: &f.presigned.path,
            extra_query: &[("partNumber", "1")],
            expires_secs: 900,
        },
        &SigningParams {
            access_key_id: &f.access_key_id,
            secret: &f.secret,
            region: "us-west-2",
            service: "devicefarm",
            time: f.now,
        },
    )
    .unwrap();
    assert_eq!(query, f.presigned.query);
}
