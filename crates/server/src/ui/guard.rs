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
        (StatusCode::FORBIDDEN, [(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], "CSRF check failed")
            .into_response()
    }
}

/// Whether the browser's own statement of the request's origin (if it makes one) is us:
/// the host it asked for, or the server's public URL (behind a proxy that rewrites Host).
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    let Some(origin) = header("origin") else {
        // A browser always sends Origin on a POST; what sends none is not a browser
        // carrying a victim's cookie, and still needs the token.
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else { return false };
    let host_matches =
        header("host").is_some_and(|host| authority(&origin).is_some_and(|a| a.eq_ignore_ascii_case(host)));
    let public_matches = url::Url::parse(public_url).is_ok_and(|public| public.origin() == origin.origin());
    host_matches || public_matches
}

/// `host[:port]` of a URL as a Host header writes it (no port when it is the default).
fn authority(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

pub fn csrf_ok(viewer: &Viewer, headers: &HeaderMap, token: &str) -> bool {
    same_origin(headers, &viewer.ctx.state.public_url)
        && viewer.ctx.state.ui_sessions.csrf_ok(&viewer.session_value, token)
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
        let public = "http://127.0.0.1:4766";
        let ok = |pairs: &[(&'static str, &'static str)]| same_origin(&headers(pairs), public);
        assert!(ok(&[("host", "127.0.0.1:4766"), ("origin", "http://127.0.0.1:4766")]));
        assert!(!ok(&[("host", "127.0.0.1:4766"), ("origin", "http://evil.example")]));
        assert!(!ok(&[("host", "127.0.0.1:4766"), ("origin", "http://127.0.0.1:9999")]));
        assert!(!ok(&[("host", "127.0.0.1:4766"), ("origin", "null")]));
        assert!(!ok(&[("host", "127.0.0.1:4766"), ("sec-fetch-site", "cross-site")]));
        assert!(ok(&[("host", "127.0.0.1:4766")]));
    }

    #[test]
    fn behind_a_proxy_the_public_url_is_this_site() {
        let h = headers(&[("host", "10.0.0.7:4766"), ("origin", "https://farm.example.com")]);
        assert!(same_origin(&h, "https://farm.example.com"));
        assert!(!same_origin(&h, "https://other.example.com"));
        assert!(!same_origin(&h, "http://farm.example.com"), "another scheme is another origin");
    }
}
