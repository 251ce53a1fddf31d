//! Signing in and out. A person signs in with one of their account's access keys (the same
//! pair their AWS clients use) or with a token an operator minted with `farmhand ui-token`;
//! either way the browser gets a session cookie and never keeps the secret.

use super::auth::{cookie, resolve, Viewer};
use super::guard::{same_origin, Refused};
use super::layout::{error_page, page};
use super::session::{new_session, random_nonce, COOKIE, LOGIN_COOKIE, SESSION_MS};
use crate::throttle::Throttle;
use crate::AppState;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The throttle's name for sign-ins with a `farmhand ui-token` (whose account is known only
/// once the token checks out).
const TOKEN_SIGN_IN: &str = "ui-token";

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    // Secure only where the browser reaches us over TLS (a proxy in front): on plain
    // http://127.0.0.1 a Secure cookie would never be sent back.
    let secure = if state.public_url.starts_with("https://") { "; Secure" } else { "" };
    let text = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age={max_age_seconds}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn login_page(state: &AppState, nonce: &str, status: StatusCode, error: Option<&str>) -> Response {
    let csrf = state.ui_sessions.csrf(nonce);
    let body = html! {
        h1 { "Sign in" }
        @if let Some(message) = error {
            p #error role="alert" { (message) }
        }
        form #login method="post" action="/ui/login" {
            input type="hidden" name="csrf" value=(csrf);
            fieldset {
                legend { "With an access key of your account" }
                label for="access_key_id" { "Access key ID" }
                input #access_key_id name="access_key_id" autocomplete="username" spellcheck="false";
                label for="secret_access_key" { "Secret access key" }
                input #secret_access_key name="secret_access_key" type="password" autocomplete="current-password";
            }
            fieldset {
                legend { "Or with a session token" }
                label for="token" { "Token from " code { "farmhand ui-token" } }
                input #token name="token" autocomplete="off" spellcheck="false";
            }
            button #sign-in type="submit" { "Sign in" }
        }
    };
    let mut response = (status, Html(page(None, "Sign in", body).into_string())).into_response();
    response.headers_mut().append(http::header::SET_COOKIE, cookie_header(state, LOGIN_COOKIE, nonce, 3600));
    response
}

pub async fn show(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(value) = cookie(&headers, COOKIE) {
        if resolve(&state, &state.ui_sessions, &value).await.is_some() {
            return Redirect::to("/ui/projects").into_response();
        }
    }
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or_else(random_nonce);
    login_page(&state, &nonce, StatusCode::OK, None)
}

/// The account the form's credentials stand for, and the key if one was used.
async fn check(state: &AppState, form: &LoginForm) -> Option<(String, Option<String>, i64)> {
    let now = state.wall.now_ms();
    if !form.token.trim().is_empty() {
        let session = state.ui_sessions.open(form.token.trim(), now)?;
        // A cookie's value pasted as a token would outlive its key's revocation check.
        if session.access_key_id.is_some() {
            return None;
        }
        let account = state.store.account(&session.account_id).await.ok().flatten()?;
        return Some((account.id, None, session.expires_ms - now));
    }
    let (key, account) = state.store.access_key_with_account(form.access_key_id.trim()).await.ok().flatten()?;
    let matches: bool = key.secret_access_key.as_bytes().ct_eq(form.secret_access_key.as_bytes()).into();
    (matches && key.revoked_ms.is_none()).then_some((account.id, Some(key.access_key_id), SESSION_MS))
}

/// What a refused sign-in logs of the key id typed: its first characters, enough to tell
/// keys apart, never all of it — a secret pasted into the wrong field must not reach the log.
fn shown_key_id(typed: &str) -> String {
    let prefix: String = typed.trim().chars().take(8).collect();
    format!("{prefix}…")
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    Extension(throttle): Extension<Arc<Throttle>>,
    extensions: http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same_origin(&headers, &state.public_url) || nonce.is_empty() || !state.ui_sessions.csrf_ok(&nonce, &form.csrf) {
        return Refused.into_response();
    }
    // Sign-in guesses are limited like the API's failed signatures: an address that keeps
    // failing is refused before anything is checked (sign-ins with a key seen verified go on).
    let peer = crate::connections::peer(&extensions);
    let key_id = if form.token.trim().is_empty() { form.access_key_id.trim() } else { TOKEN_SIGN_IN };
    let now = std::time::Instant::now();
    if !throttle.may_verify(key_id, peer, now) {
        return login_page(
            &state,
            &nonce,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed sign-ins from this address; wait a moment and try again."),
        );
    }
    let Some((account_id, key_id, lifetime_ms)) = check(&state, &form).await else {
        throttle.failed(peer, now);
        tracing::info!(access_key_id = %shown_key_id(&form.access_key_id), "dashboard sign-in refused");
        return login_page(
            &state,
            &nonce,
            StatusCode::UNAUTHORIZED,
            Some("Those credentials are not valid for any account."),
        );
    };
    if let Some(key) = &key_id {
        throttle.admit(key, now);
    }
    let session = new_session(&account_id, key_id.as_deref(), state.wall.now_ms(), lifetime_ms);
    let value = state.ui_sessions.seal(&session);
    let mut response = Redirect::to("/ui/projects").into_response();
    let headers = response.headers_mut();
    headers.append(http::header::SET_COOKIE, cookie_header(&state, COOKIE, &value, lifetime_ms / 1000));
    headers.append(http::header::SET_COOKIE, cookie_header(&state, LOGIN_COOKIE, "", 0));
    response
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(viewer: Viewer, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if !super::guard::csrf_ok(&viewer, &headers, &form.csrf) {
        return Refused.into_response();
    }
    let mut response = Redirect::to("/ui/login").into_response();
    response.headers_mut().append(http::header::SET_COOKIE, cookie_header(&viewer.ctx.state, COOKIE, "", 0));
    response
}

/// `GET /ui`: where a person lands.
pub async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match cookie(&headers, COOKIE) {
        Some(value) if resolve(&state, &state.ui_sessions, &value).await.is_some() => {
            Redirect::to("/ui/projects").into_response()
        }
        _ => Redirect::to("/ui/login").into_response(),
    }
}

pub fn not_found(viewer: Option<&Viewer>) -> Response {
    error_page(viewer, StatusCode::NOT_FOUND, "There is no such page in your account.")
}
