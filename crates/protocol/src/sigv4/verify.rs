//! The two-step check: [`parse`] reads the authorization data without any secret (so the
//! caller can look the access key up in its store), then [`ParsedAuth::verify`] checks scope,
//! time, signature and payload against that secret.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use super::authorization::AuthorizationHeader;
use super::canonical_request::{canonical_query, canonical_request, MissingSignedHeader};
use super::credential::Credential;
use super::error::AuthError;
use super::presign::{is_presigned, PresignedQuery, SIGNATURE_PARAM, UNSIGNED_PAYLOAD};
use super::signing_key::{signature, signing_key};
use super::string_to_sign::string_to_sign;
use super::time::{format_amz_date, parse_amz_date, parse_http_date, MAX_CLOCK_SKEW};

/// A request as the server received it, independent of any HTTP framework.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The path exactly as sent, still percent-encoded.
    pub raw_path: &'a str,
    /// The query exactly as sent, without `?`; empty if none.
    pub raw_query: &'a str,
    /// Lowercase names; a header sent several times appears several times, in order.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body as the server computed it; `None` when the body is streamed
    /// and not hashed up front.
    pub payload_sha256: Option<&'a str>,
}

impl<'a> RequestParts<'a> {
    fn header_values(&self, name: &str) -> Vec<&'a str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).collect()
    }

    fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).first().copied()
    }
}

/// The scope this server signs for.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// How the request carried its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthForm {
    Header,
    Presigned { expires_at: DateTime<Utc> },
}

/// Proof that a request was signed by the holder of `access_key_id`'s secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    pub access_key_id: String,
    pub date: DateTime<Utc>,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub form: AuthForm,
    /// Set when the signature covers an `x-amz-content-sha256` value that could not be
    /// compared because no body hash was given: the caller must compare it once the body has
    /// been read, and reject the request on mismatch.
    pub unchecked_content_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PayloadCheck {
    /// Nothing beyond the signature: the body hash itself was signed, or nothing was.
    None,
    Compare {
        claimed: String,
        actual: String,
    },
    Deferred(String),
}

/// Authorization data read from a request, waiting for the signer's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    form: AuthForm,
    credential: Credential,
    amz_date: String,
    time: DateTime<Utc>,
    signed_headers: Vec<String>,
    signature: String,
    canonical_request: String,
    payload: PayloadCheck,
}

/// Reads the header or presigned-query authorization of `req`. Fails only on missing or
/// malformed data; scope, time and signature are [`ParsedAuth::verify`]'s job.
pub fn parse(req: &RequestParts<'_>) -> Result<ParsedAuth, AuthError> {
    let authorizations = req.header_values("authorization");
    let presigned = is_presigned(req.raw_query);
    match (authorizations.as_slice(), presigned) {
        ([], false) => Err(AuthError::MissingAuthenticationToken),
        ([value], false) => parse_header_form(req, value),
        ([], true) => parse_query_form(req),
        ([_, _, ..], false) => {
            Err(AuthError::IncompleteSignature("Only one Authorization header may be sent.".to_owned()))
        }
        (_, true) => Err(AuthError::IncompleteSignature(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the \
             Authorization header should be specified."
                .to_owned(),
        )),
    }
}

fn parse_header_form(req: &RequestParts<'_>, authorization: &str) -> Result<ParsedAuth, AuthError> {
    let auth = AuthorizationHeader::parse(authorization)?;

    let (amz_date, time, date_header, shown) = if let Some(value) = req.header("x-amz-date") {
        let time = parse_amz_date(value).ok_or_else(|| {
            AuthError::IncompleteSignature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. \
                 See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })?;
        (value.to_owned(), time, "x-amz-date", "'X-Amz-Date'")
    } else if let Some(value) = req.header("date") {
        let time = parse_http_date(value)
            .ok_or_else(|| AuthError::IncompleteSignature(format!("Date header is not an HTTP date: '{value}'.")))?;
        (format_amz_date(&time), time, "date", "'Date'")
    } else {
        return Err(AuthError::IncompleteSignature(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
             Authorization={authorization}"
        )));
    };

    require_signed(&auth.signed_headers, "host", "'Host' or ':authority'")?;
    require_signed(&auth.signed_headers, date_header, shown)?;

    let (payload_hash, payload) = match (req.header("x-amz-content-sha256"), req.payload_sha256) {
        (Some(UNSIGNED_PAYLOAD), _) => (UNSIGNED_PAYLOAD.to_owned(), PayloadCheck::None),
        (Some(claimed), Some(actual)) => {
            (claimed.to_owned(), PayloadCheck::Compare { claimed: claimed.to_owned(), actual: actual.to_owned() })
        }
        (Some(claimed), None) => (claimed.to_owned(), PayloadCheck::Deferred(claimed.to_owned())),
        (None, Some(actual)) => (actual.to_owned(), PayloadCheck::None),
        (None, None) => {
            return Err(AuthError::IncompleteSignature(
                "Missing required header for this request: x-amz-content-sha256".to_owned(),
            ))
        }
    };

    let canonical_request = canonical_request(
        req.method,
        req.raw_path,
        &canonical_query(req.raw_query, None),
        req.headers,
        &auth.signed_headers,
        &payload_hash,
    )
    .map_err(missing_header)?;

    Ok(ParsedAuth {
        form: AuthForm::Header,
        credential: auth.credential,
        amz_date,
        time,
        signed_headers: auth.signed_headers,
        signature: auth.signature,
        canonical_request,
        payload,
    })
}

fn parse_query_form(req: &RequestParts<'_>) -> Result<ParsedAuth, AuthError> {
    let query = PresignedQuery::parse(req.raw_query)?;
    require_signed(&query.signed_headers, "host", "'Host' or ':authority'")?;
    let canonical_request = canonical_request(
        req.method,
        req.raw_path,
        &canonical_query(req.raw_query, Some(SIGNATURE_PARAM)),
        req.headers,
        &query.signed_headers,
        UNSIGNED_PAYLOAD,
    )
    .map_err(missing_header)?;
    Ok(ParsedAuth {
        form: AuthForm::Presigned { expires_at: query.time + query.expires },
        credential: query.credential,
        amz_date: query.amz_date,
        time: query.time,
        signed_headers: query.signed_headers,
        signature: query.signature,
        canonical_request,
        payload: PayloadCheck::None,
    })
}

fn require_signed(signed: &[String], name: &str, shown: &str) -> Result<(), AuthError> {
    if signed.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        Ok(())
    } else {
        Err(AuthError::InvalidSignature(format!("{shown} must be a 'SignedHeader' in the AWS Authorization.")))
    }
}

fn missing_header(MissingSignedHeader(name): MissingSignedHeader) -> AuthError {
    AuthError::IncompleteSignature(format!("Signed header '{name}' is not present in the request."))
}

impl ParsedAuth {
    pub fn access_key_id(&self) -> &str {
        &self.credential.access_key_id
    }

    pub fn form(&self) -> AuthForm {
        self.form
    }

    /// The canonical request this server computed; worth logging when signatures disagree.
    pub fn canonical_request(&self) -> &str {
        &self.canonical_request
    }

    /// Checks scope, time, signature (in constant time) and payload, in that order.
    pub fn verify(
        &self,
        secret: &str,
        now: DateTime<Utc>,
        expect: &Expectation<'_>,
    ) -> Result<VerifiedRequest, AuthError> {
        self.check_scope(expect)?;
        self.check_time(now)?;

        let cred = &self.credential;
        let sts = string_to_sign(&self.amz_date, &cred.scope(), &self.canonical_request);
        let key = signing_key(secret, &cred.date, &cred.region, &cred.service);
        let expected = signature(&key, &sts);
        if !bool::from(expected.as_bytes().ct_eq(self.signature.as_bytes())) {
            return Err(AuthError::SignatureMismatch);
        }

        let unchecked_content_sha256 = match &self.payload {
            PayloadCheck::None => None,
            PayloadCheck::Compare { claimed, actual } => {
                if !claimed.eq_ignore_ascii_case(actual) {
                    return Err(AuthError::ContentSha256Mismatch);
                }
                None
            }
            PayloadCheck::Deferred(claimed) => Some(claimed.clone()),
        };

        Ok(VerifiedRequest {
            access_key_id: cred.access_key_id.clone(),
            date: self.time,
            region: cred.region.clone(),
            service: cred.service.clone(),
            signed_headers: self.signed_headers.clone(),
            form: self.form,
            unchecked_content_sha256,
        })
    }

    fn check_scope(&self, expect: &Expectation<'_>) -> Result<(), AuthError> {
        let cred = &self.credential;
        let request_day = self.amz_date.get(..8).unwrap_or_default();
        if cred.date != request_day {
            return Err(AuthError::InvalidSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{}' != '{request_day}', from '{}'.",
                cred.date, self.amz_date
            )));
        }
        if cred.region != expect.region {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped to a valid region, not '{}'. Expected '{}'.",
                cred.region, expect.region
            )));
        }
        if cred.service != expect.service {
            return Err(AuthError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{}'.",
                expect.service
            )));
        }
        Ok(())
    }

    fn check_time(&self, now: DateTime<Utc>) -> Result<(), AuthError> {
        let latest = now + MAX_CLOCK_SKEW;
        if self.time > latest {
            return Err(AuthError::NotYetCurrent { signed_at: self.time, limit: latest, now });
        }
        match self.form {
            AuthForm::Header => {
                let earliest = now - MAX_CLOCK_SKEW;
                if self.time < earliest {
                    return Err(AuthError::Expired {
                        signed_at: self.time,
                        limit: earliest,
                        now,
                        window: Some(MAX_CLOCK_SKEW),
                    });
                }
            }
            AuthForm::Presigned { expires_at } => {
                if now > expires_at {
                    return Err(AuthError::Expired { signed_at: self.time, limit: expires_at, now, window: None });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sigv4::sign::{sign_headers, SigningParams};
    use crate::sigv4::string_to_sign::sha256_hex;
    use chrono::TimeZone;

    const SECRET: &str = "secret";
    const EXPECT: Expectation<'static> = Expectation { region: "us-west-2", service: "devicefarm" };

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).single().unwrap()
    }

    fn params() -> SigningParams<'static> {
        SigningParams { access_key_id: "AKID", secret: SECRET, region: "us-west-2", service: "devicefarm", time: t0() }
    }

    fn h(n: &str, v: &str) -> (String, String) {
        (n.to_owned(), v.to_owned())
    }

    /// Signs `headers` + body hash and returns the headers as the server would receive them.
    fn signed(headers: &[(String, String)], body_hash: &str) -> Vec<(String, String)> {
        let req =
            RequestParts { method: "POST", raw_path: "/", raw_query: "", headers, payload_sha256: Some(body_hash) };
        let mut all = headers.to_vec();
        all.extend(sign_headers(&req, &params()).unwrap());
        all
    }

    fn check(headers: &[(String, String)], body_hash: Option<&str>) -> Result<VerifiedRequest, AuthError> {
        let req = RequestParts { method: "POST", raw_path: "/", raw_query: "", headers, payload_sha256: body_hash };
        parse(&req)?.verify(SECRET, t0(), &EXPECT)
    }

    fn replace(headers: &mut [(String, String)], name: &str, value: &str) {
        for (n, v) in headers.iter_mut() {
            if n == name {
                *v = value.to_owned();
            }
        }
    }

    fn body() -> String {
        sha256_hex(b"{}")
    }

    #[test]
    fn signed_request_verifies() {
        let headers = signed(&[h("host", "farm")], &body());
        let v = check(&headers, Some(&body())).unwrap();
        assert_eq!(v.access_key_id, "AKID");
        assert_eq!(v.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(v.unchecked_content_sha256, None);
    }

    #[test]
    fn no_authorization_is_a_missing_token() {
        assert_eq!(check(&[h("host", "farm")], Some(&body())), Err(AuthError::MissingAuthenticationToken));
    }

    #[test]
    fn missing_date_is_incomplete() {
        let mut headers = signed(&[h("host", "farm")], &body());
        headers.retain(|(n, _)| n != "x-amz-date");
        let err = check(&headers, Some(&body())).unwrap_err();
        assert_eq!(err.code().as_str(), "IncompleteSignatureException");
        assert!(err.message().contains("'X-Amz-Date' or a 'Date' header"), "{err}");
    }

    #[test]
    fn malformed_date_is_incomplete() {
        let mut headers = signed(&[h("host", "farm")], &body());
        replace(&mut headers, "x-amz-date", "2015-08-30T12:36:00Z");
        assert!(matches!(check(&headers, Some(&body())), Err(AuthError::IncompleteSignature(_))));
    }

    #[test]
    fn missing_signature_component_is_incomplete() {
        let mut headers = signed(&[h("host", "farm")], &body());
        let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
        let without = auth.split(", Signature=").next().unwrap().to_owned();
        replace(&mut headers, "authorization", &without);
        let err = check(&headers, Some(&body())).unwrap_err();
        assert!(err.message().contains("requires 'Signature' parameter"), "{err}");
    }

    #[test]
    fn host_must_be_signed() {
        let mut headers = signed(&[h("host", "farm")], &body());
        let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
        replace(&mut headers, "authorization", &auth.replace("SignedHeaders=host;", "SignedHeaders="));
        let err = check(&headers, Some(&body())).unwrap_err();
        assert_eq!(err.message(), "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    }

    #[test]
    fn x_amz_date_must_be_signed_when_sent() {
        let mut headers = signed(&[h("host", "farm")], &body());
        let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
        replace(&mut headers, "authorization", &auth.replace("host;x-amz-date", "host"));
        let err = check(&headers, Some(&body())).unwrap_err();
        assert!(err.message().starts_with("'X-Amz-Date' must be a 'SignedHeader'"), "{err}");
    }

    #[test]
    fn signed_header_absent_from_request_is_incomplete() {
        let mut headers = signed(&[h("host", "farm"), h("x-amz-target", "T")], &body());
        headers.retain(|(n, _)| n != "x-amz-target");
        let err = check(&headers, Some(&body())).unwrap_err();
        assert!(err.message().contains("'x-amz-target'"), "{err}");
    }

    #[test]
    fn both_auth_forms_at_once_are_rejected() {
        let headers = signed(&[h("host", "farm")], &body());
        let req = RequestParts {
            method: "POST",
            raw_path: "/",
            raw_query: "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            headers: &headers,
            payload_sha256: Some(&body()),
        };
        assert!(matches!(parse(&req), Err(AuthError::IncompleteSignature(_))));
    }

    #[test]
    fn scope_date_must_match_request_date() {
        let mut headers = signed(&[h("host", "farm")], &body());
        let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap().1.clone();
        replace(&mut headers, "authorization", &auth.replace("/20150830/", "/20150831/"));
        let err = check(&headers, Some(&body())).unwrap_err();
        assert!(err.message().starts_with("Date in Credential scope does not match"), "{err}");
    }

    #[test]
    fn content_sha256_header_must_match_the_body() {
        let headers = signed(&[h("host", "farm"), h("x-amz-content-sha256", &body())], &body());
        assert!(check(&headers, Some(&body())).is_ok());
        assert_eq!(check(&headers, Some(&sha256_hex(b"{ }"))), Err(AuthError::ContentSha256Mismatch));
    }

    #[test]
    fn content_sha256_is_left_to_the_caller_when_the_body_is_not_hashed() {
        let headers = signed(&[h("host", "farm"), h("x-amz-content-sha256", &body())], &body());
        let v = check(&headers, None).unwrap();
        assert_eq!(v.unchecked_content_sha256, Some(body()));
    }

    #[test]
    fn unsigned_payload_header_skips_the_body() {
        let headers = signed(&[h("host", "farm"), h("x-amz-content-sha256", UNSIGNED_PAYLOAD)], &body());
        assert!(check(&headers, Some(&sha256_hex(b"anything"))).is_ok());
    }

    #[test]
    fn unknown_payload_without_content_sha256_is_incomplete() {
        let headers = signed(&[h("host", "farm")], &body());
        assert!(matches!(check(&headers, None), Err(AuthError::IncompleteSignature(_))));
    }

    #[test]
    fn http_date_header_can_carry_the_time() {
        // sign_headers always adds x-amz-date, so sign the date-only form step by step.
        let mut all = vec![h("host", "farm"), h("date", "Sun, 30 Aug 2015 12:36:00 GMT")];
        let signed_names = vec!["date".to_owned(), "host".to_owned()];
        let creq =
            crate::sigv4::canonical_request::canonical_request("POST", "/", "", &all, &signed_names, &body()).unwrap();
        let sts = crate::sigv4::string_to_sign::string_to_sign(
            "20150830T123600Z",
            "20150830/us-west-2/devicefarm/aws4_request",
            &creq,
        );
        let key = crate::sigv4::signing_key::signing_key(SECRET, "20150830", "us-west-2", "devicefarm");
        let sig = crate::sigv4::signing_key::signature(&key, &sts);
        all.push(h(
            "authorization",
            &format!("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-west-2/devicefarm/aws4_request, SignedHeaders=date;host, Signature={sig}"),
        ));
        let v = check(&all, Some(&body())).unwrap();
        assert_eq!(v.date, t0());
    }
}
