//! The presigned-query form: reading `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//! `X-Amz-Expires`, `X-Amz-SignedHeaders` and `X-Amz-Signature` from a URL, and issuing such
//! URLs (farmhand hands them out for uploads).
//!
//! The payload of a presigned request is never hashed (`UNSIGNED-PAYLOAD`): the URL is made
//! before the body exists.

use chrono::{DateTime, Duration, Utc};
use percent_encoding::percent_decode_str;

use super::canonical_request::{canonical_query, canonical_request, uri_encode};
use super::credential::{scope, Credential};
use super::error::{AuthError, SignError};
use super::sign::SigningParams;
use super::signing_key::{signature, signing_key};
use super::string_to_sign::{string_to_sign, ALGORITHM};
use super::time::{format_amz_date, parse_amz_date};

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// AWS's ceiling for `X-Amz-Expires`: seven days.
pub const MAX_EXPIRES_SECS: u64 = 604_800;
pub const SIGNATURE_PARAM: &str = "X-Amz-Signature";

const AUTH_PARAMS: [&str; 6] =
    ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", SIGNATURE_PARAM];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedQuery {
    pub credential: Credential,
    pub amz_date: String,
    pub time: DateTime<Utc>,
    pub expires: Duration,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn decoded_pairs(raw_query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    raw_query.split('&').filter(|p| !p.is_empty()).map(|piece| {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        (percent_decode_str(k).decode_utf8_lossy().into_owned(), percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

/// Whether the query carries any presigned-URL authentication parameter.
pub fn is_presigned(raw_query: &str) -> bool {
    decoded_pairs(raw_query).any(|(k, _)| AUTH_PARAMS.contains(&k.as_str()))
}

impl PresignedQuery {
    pub fn parse(raw_query: &str) -> Result<Self, AuthError> {
        let mut found: [Option<String>; 6] = Default::default();
        for (key, value) in decoded_pairs(raw_query) {
            if let Some(i) = AUTH_PARAMS.iter().position(|p| *p == key) {
                if found[i].is_some() {
                    return Err(AuthError::IncompleteSignature(format!(
                        "AWS query-string parameter '{key}' must appear only once."
                    )));
                }
                found[i] = Some(value);
            }
        }
        let found = found.map(|v| v.filter(|s| !s.is_empty()));
        let [Some(algorithm), Some(credential), Some(amz_date), Some(expires), Some(signed_headers), Some(signature)] =
            found.clone()
        else {
            let missing: String = AUTH_PARAMS
                .iter()
                .zip(&found)
                .filter(|(_, v)| v.is_none())
                .map(|(name, _)| format!("AWS query-string parameters must include '{name}'. "))
                .collect();
            return Err(AuthError::IncompleteSignature(format!("{missing}Re-examine the query-string parameters.")));
        };

        if algorithm != ALGORITHM {
            return Err(AuthError::IncompleteSignature(format!(
                "Unsupported AWS 'algorithm': '{algorithm}'; only '{ALGORITHM}' is accepted."
            )));
        }
        let time = parse_amz_date(&amz_date).ok_or_else(|| {
            AuthError::IncompleteSignature(format!(
                "X-Amz-Date must be in the ISO-8601 'basic format' (yyyyMMdd'T'HHmmss'Z'), got '{amz_date}'."
            ))
        })?;
        let expires = expires.parse::<u64>().ok().filter(|s| (1..=MAX_EXPIRES_SECS).contains(s)).ok_or_else(|| {
            AuthError::IncompleteSignature(format!(
                "X-Amz-Expires must be a whole number of seconds from 1 to {MAX_EXPIRES_SECS} \
                     (one week), got '{expires}'."
            ))
        })?;
        Ok(Self {
            credential: Credential::parse(&credential)?,
            amz_date,
            time,
            expires: Duration::seconds(i64::try_from(expires).unwrap_or(i64::MAX)),
            signed_headers: super::authorization::split_signed_headers(&signed_headers),
            signature,
        })
    }
}

/// What a presigned URL is for.
#[derive(Debug, Clone, Copy)]
pub struct PresignTarget<'a> {
    pub method: &'a str,
    /// Scheme and authority the client will connect to, e.g. `http://127.0.0.1:8080`; its
    /// host (minus a default port) is the signed `host` header.
    pub url_base: &'a str,
    /// The path exactly as it will be sent (already percent-encoded where needed).
    pub path: &'a str,
    /// Unencoded query parameters to carry besides the signature ones.
    pub extra_query: &'a [(&'a str, &'a str)],
    pub expires_secs: u64,
}

/// Signs `target` and returns the full query string (without `?`) to append to
/// `url_base + path`. Parameters come out in botocore's order: extra ones, then the
/// `X-Amz-*` ones, with `X-Amz-Signature` last.
pub fn presign(target: &PresignTarget<'_>, params: &SigningParams<'_>) -> Result<String, SignError> {
    if !(1..=MAX_EXPIRES_SECS).contains(&target.expires_secs) {
        return Err(SignError::InvalidExpiry(target.expires_secs));
    }
    let host = host_of(target.url_base)?;
    let amz_date = format_amz_date(&params.time);
    let date = &amz_date[..8];
    let credential = format!("{}/{}", params.access_key_id, scope(date, params.region, params.service));
    let expires = target.expires_secs.to_string();
    let auth = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", credential.as_str()),
        ("X-Amz-Date", amz_date.as_str()),
        ("X-Amz-Expires", expires.as_str()),
        ("X-Amz-SignedHeaders", "host"),
    ];
    let query = target
        .extra_query
        .iter()
        .chain(auth.iter())
        .map(|(k, v)| format!("{}={}", uri_encode(k.as_bytes()), uri_encode(v.as_bytes())))
        .collect::<Vec<_>>()
        .join("&");

    let headers = [("host".to_owned(), host)];
    let signed = ["host".to_owned()];
    let creq = canonical_request(
        target.method,
        target.path,
        &canonical_query(&query, None),
        &headers,
        &signed,
        UNSIGNED_PAYLOAD,
    )
    .map_err(|_| SignError::MissingHost)?;
    let sts = string_to_sign(&amz_date, &scope(date, params.region, params.service), &creq);
    let key = signing_key(params.secret, date, params.region, params.service);
    Ok(format!("{query}&{SIGNATURE_PARAM}={}", signature(&key, &sts)))
}

/// The `host` header value a client sends for `url_base`.
fn host_of(url_base: &str) -> Result<String, SignError> {
    let invalid = || SignError::InvalidUrlBase(url_base.to_owned());
    let uri: http::Uri = url_base.parse().map_err(|_| invalid())?;
    let authority = uri.authority().ok_or_else(invalid)?;
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    Ok(match authority.port_u16() {
        Some(port) if Some(port) != default_port => format!("{}:{port}", authority.host()),
        _ => authority.host().to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_drops_only_the_default_port() {
        assert_eq!(host_of("http://127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(host_of("http://farm.example:80").unwrap(), "farm.example");
        assert_eq!(host_of("https://farm.example:443/").unwrap(), "farm.example");
        assert_eq!(host_of("https://farm.example:80").unwrap(), "farm.example:80");
        assert!(host_of("/just/a/path").is_err());
    }

    #[test]
    fn detects_presigned_queries() {
        assert!(is_presigned("a=b&X-Amz-Signature=00"));
        assert!(is_presigned("X-Amz-Credential=x"));
        assert!(!is_presigned("a=b&x-amz-whatever=1"));
        assert!(!is_presigned(""));
    }

    #[test]
    fn lists_every_missing_parameter() {
        let err = PresignedQuery::parse("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z").unwrap_err();
        let msg = err.message();
        for name in ["X-Amz-Credential", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"] {
            assert!(msg.contains(&format!("include '{name}'")), "{msg}");
        }
        assert!(!msg.contains("include 'X-Amz-Date'"), "{msg}");
    }

    #[test]
    fn rejects_expiry_outside_one_second_to_a_week() {
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=AKID%2F20150830%2Fus-west-2%2Fdevicefarm%2Faws4_request\
            &X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        for bad in ["0", "604801", "-1", "1.5"] {
            let q = format!("{base}&X-Amz-Expires={bad}");
            assert!(matches!(PresignedQuery::parse(&q), Err(AuthError::IncompleteSignature(_))), "{bad}");
        }
        let ok = PresignedQuery::parse(&format!("{base}&X-Amz-Expires=604800")).unwrap();
        assert_eq!(ok.expires, Duration::days(7));
    }

    #[test]
    fn presign_refuses_bad_expiry() {
        let params = SigningParams { access_key_id: "AKID", secret: "s", region: "r", service: "s", time: Utc::now() };
        let target =
            PresignTarget { method: "PUT", url_base: "http://h", path: "/", extra_query: &[], expires_secs: 0 };
        assert_eq!(presign(&target, &params), Err(SignError::InvalidExpiry(0)));
    }
}
