//! Signing a request in header form. farmhand itself only needs this in tests (clients sign
//! their own requests), but keeping it beside the verifier means both share every step.

use chrono::{DateTime, Utc};

use super::canonical_request::{canonical_query, canonical_request};
use super::credential::scope;
use super::error::SignError;
use super::signing_key::{signature, signing_key};
use super::string_to_sign::{string_to_sign, ALGORITHM};
use super::time::format_amz_date;
use super::verify::RequestParts;

/// Who signs, for which scope, at which time.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub time: DateTime<Utc>,
}

/// Signs every header of `req` (plus a fresh `x-amz-date`) and returns the headers to add:
/// `x-amz-date` and `authorization`. Any `authorization` or `x-amz-date` already in `req` is
/// ignored. The payload hash is `x-amz-content-sha256` if present, else `payload_sha256`.
pub fn sign_headers(req: &RequestParts<'_>, params: &SigningParams<'_>) -> Result<Vec<(String, String)>, SignError> {
    let amz_date = format_amz_date(&params.time);
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-amz-date"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    if !headers.iter().any(|(n, _)| n == "host") {
        return Err(SignError::MissingHost);
    }
    headers.push(("x-amz-date".to_owned(), amz_date.clone()));

    let mut signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    signed.sort();
    signed.dedup();

    let payload_hash = headers
        .iter()
        .find(|(n, _)| n == "x-amz-content-sha256")
        .map(|(_, v)| v.trim().to_owned())
        .or_else(|| req.payload_sha256.map(str::to_owned))
        .ok_or(SignError::MissingPayloadHash)?;

    let creq = canonical_request(
        req.method,
        req.raw_path,
        &canonical_query(req.raw_query, None),
        &headers,
        &signed,
        &payload_hash,
    )
    .map_err(|_| SignError::MissingHost)?;
    let date = &amz_date[..8];
    let scope = scope(date, params.region, params.service);
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let key = signing_key(params.secret, date, params.region, params.service);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={}",
        params.access_key_id,
        signed.join(";"),
        signature(&key, &sts)
    );
    Ok(vec![("x-amz-date".to_owned(), amz_date), ("authorization".to_owned(), authorization)])
}
