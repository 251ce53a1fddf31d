//! Who is looking at a dashboard page: the session cookie, checked on every request, turned
//! into the same [`Ctx`] an API request gets. Everything a page shows is read through that
//! `Ctx`, so a person sees exactly what their account's access keys could read, no more.

use super::session::{Session, SessionKey, COOKIE};
use crate::api::Ctx;
use crate::AppState;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// A signed-in request.
pub struct Viewer {
    pub ctx: Ctx,
    /// The cookie's value, which the page's CSRF token is bound to.
    pub session_value: String,
}

impl Viewer {
    pub fn csrf(&self) -> String {
        self.ctx.state.ui_sessions.csrf(&self.session_value)
    }

    pub fn account_id(&self) -> &str {
        &self.ctx.account.id
    }
}

/// The value of cookie `name` among the request's `Cookie` headers.
pub fn cookie(parts: &http::HeaderMap, name: &str) -> Option<String> {
    parts
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The account a session stands for, if the session is still good: signed by us, not
/// expired, its account still there and not signed out everywhere since, and, for a key
/// session, its key not revoked.
pub async fn resolve(
    state: &Arc<AppState>,
    key: &SessionKey,
    value: &str,
) -> Option<(Session, domain::account::Account)> {
    let session = key.open(value, state.wall.now_ms())?;
    let account = match &session.access_key_id {
        Some(key_id) => {
            let (key, account) = state.store.access_key_with_account(key_id).await.ok().flatten()?;
            (key.revoked_ms.is_none() && account.id == session.account_id).then_some(account)?
        }
        None => state.store.account(&session.account_id).await.ok().flatten()?,
    };
    super::session::outlives_revocation(&session, &account.settings).then_some((session, account))
}

/// Not signed in (or no longer): pages send the browser to the login form, live streams
/// and actions answer 401 so a script sees what happened.
pub struct SignIn {
    page: bool,
}

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        if self.page {
            Redirect::to("/ui/login").into_response()
        } else {
            (http::StatusCode::UNAUTHORIZED, "Sign in at /ui/login").into_response()
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = SignIn;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        // Streams read by the page's script (events, followed output) get a 401 it can
        // tell apart, not the login page's HTML.
        let path = parts.uri.path();
        let page = parts.method == http::Method::GET && !path.ends_with("/events") && !path.ends_with("/output");
        let rejection = || SignIn { page };
        let value = cookie(&parts.headers, COOKIE).ok_or_else(rejection)?;
        let (_, account) = resolve(state, &state.ui_sessions, &value).await.ok_or_else(rejection)?;
        Ok(Viewer { ctx: Ctx { state: state.clone(), account }, session_value: value })
    }
}

impl OptionalFromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Option<Self>, Self::Rejection> {
        Ok(<Viewer as FromRequestParts<Arc<AppState>>>::from_request_parts(parts, state).await.ok())
    }
}
