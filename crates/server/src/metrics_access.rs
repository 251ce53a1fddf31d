//! Who may scrape `GET /metrics`. Open by default, like `/healthz`: its figures name no
//! account and no resource (see `metrics`), and a scraper on the farm's own network is the
//! usual reader. With `--metrics-token` set, a scrape must carry `Authorization: Bearer
//! TOKEN` (what Prometheus sends for `authorization: {credentials_file: …}` or
//! `bearer_token_file`), so a farm reachable from elsewhere does not let anyone make it
//! read its store on every request.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The token a scrape must present, kept as its digest: comparing digests in constant time
/// reveals neither the token's bytes nor its length through timing.
#[derive(Clone)]
pub struct MetricsAccess {
    token_digest: Option<[u8; 32]>,
}

impl MetricsAccess {
    pub fn new(token: Option<&str>) -> Self {
        MetricsAccess { token_digest: token.map(digest) }
    }

    fn admits(&self, headers: &HeaderMap) -> Result<(), Refused> {
        let Some(expected) = &self.token_digest else { return Ok(()) };
        let presented = bearer(headers).ok_or(Refused::Missing)?;
        match bool::from(digest(presented).ct_eq(expected)) {
            true => Ok(()),
            false => Err(Refused::Wrong),
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The credentials of an `Authorization: Bearer …` header (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credentials.trim())
}

enum Refused {
    Missing,
    Wrong,
}

pub async fn require(State(access): State<MetricsAccess>, request: Request, next: Next) -> Response {
    let refused = match access.admits(request.headers()) {
        Ok(()) => return next.run(request).await,
        Err(refused) => refused,
    };
    let (challenge, text) = match refused {
        Refused::Missing => ("Bearer", "/metrics needs its token: Authorization: Bearer TOKEN\n"),
        Refused::Wrong => ("Bearer error=\"invalid_token\"", "the metrics token is not this server's\n"),
    };
    let mut response = (StatusCode::UNAUTHORIZED, text).into_response();
    response.headers_mut().insert(http::header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn without_a_token_every_scrape_is_admitted() {
        let open = MetricsAccess::new(None);
        assert!(open.admits(&HeaderMap::new()).is_ok());
        assert!(open.admits(&with_authorization("Bearer anything")).is_ok());
    }

    #[test]
    fn with_a_token_only_that_bearer_token_is_admitted() {
        let guarded = MetricsAccess::new(Some("s3cret-scrape"));
        assert!(guarded.admits(&with_authorization("Bearer s3cret-scrape")).is_ok());
        assert!(guarded.admits(&with_authorization("bearer s3cret-scrape")).is_ok(), "the scheme is case-insensitive");
        assert!(matches!(guarded.admits(&HeaderMap::new()), Err(Refused::Missing)));
        assert!(matches!(guarded.admits(&with_authorization("Basic czNjcmV0LXNjcmFwZQ==")), Err(Refused::Missing)));
        for wrong in ["Bearer s3cret-scrap", "Bearer s3cret-scrape2", "Bearer ", "Bearer S3CRET-SCRAPE"] {
            assert!(matches!(guarded.admits(&with_authorization(wrong)), Err(Refused::Wrong)), "{wrong}");
        }
    }
}
