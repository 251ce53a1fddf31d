//! CSRF protection for every dashboard action. Two independent checks, both required:
//! the form's token must be the one rendered for this session (`session::csrf`), and a
//! browser that says where the request comes from (Origin, Sec-Fetch-Site) must say it
//! comes from this very site. SameSite=Strict on the cookie is a third line, not relied on.

use super::auth::Viewer;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// The answer to a request that fails a check; it has changed nothing.
pub struct Refused;

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], "CSRF check failed").into_response()
    }
}

/// Whether the browser's own statement of the request's origin (if it makes one) is us.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => url::Url::parse(origin)
            .ok()
            .and_then(|u| u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            }))
            .is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host)),
        // A browser always sends Origin on a POST; what sends none is not a browser
        // carrying a victim's cookie, and still needs the token.
        (None, _) => true,
        (Some(_), None) => false,
    }
}

pub fn csrf_ok(viewer: &Viewer, headers: &HeaderMap, token: &str) -> bool {
    same_origin(headers) && viewer.ctx.state.ui_sessions.csrf_ok(&viewer.session_value, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_site_may_post() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:4766"), ("origin", "http://127.0.0.1:4766")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:4766"), ("origin", "http://evil.example")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:4766"), ("origin", "http://127.0.0.1:9999")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:4766"), ("origin", "null")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:4766"), ("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:4766")])));
    }
}
