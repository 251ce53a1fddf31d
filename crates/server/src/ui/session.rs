//! Dashboard sessions and their CSRF tokens.
//!
//! A session is a signed value, not a row: `base64url(payload).base64url(hmac)`, keyed by a
//! secret every replica reads from the store, so any replica accepts a session another one
//! issued and a restart signs nobody out. What a signature cannot say — whether the access key
//! the person signed in with has since been revoked — is checked against the store on every
//! request (`ui::auth`). `farmhand ui-token` mints the same kind of value for an account,
//! without a key, for operators who sign people in without handing out secrets.
//!
//! CSRF tokens are an HMAC of the session value under a separate label: a page can only
//! carry one if it was rendered for that session, and a token is worthless in any other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The name under which the signing secret is kept in the store (`secret_or_init`).
const SECRET_NAME: &str = "ui-session-key";
pub const COOKIE: &str = "farmhand_session";
/// Before sign-in there is no session to bind the form's CSRF token to; this cookie holds
/// a random value the login form's token is bound to instead.
pub const LOGIN_COOKIE: &str = "farmhand_login";
/// A working day: long enough not to sign a person out mid-investigation, short enough
/// that a cookie left on a shared machine dies on its own.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;

/// Who a session speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "a")]
    pub account_id: String,
    /// The access key signed in with; `None` for a `farmhand ui-token` session.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// When it was opened, for the account's sign-out-everywhere instant; a value from before
    /// this field existed reads 0, opened before any such instant.
    #[serde(rename = "i", default)]
    pub issued_ms: i64,
    #[serde(rename = "e")]
    pub expires_ms: i64,
    /// Makes two sessions of the same person distinct (and so their CSRF tokens).
    #[serde(rename = "n")]
    pub nonce: String,
}

#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(…)")
    }
}

impl SessionKey {
    pub fn new(secret: &str) -> SessionKey {
        SessionKey(secret.as_bytes().to_vec())
    }

    /// The key every replica and `farmhand ui-token` share: made by whichever asks first.
    pub async fn load(store: &dyn store::Store) -> Result<SessionKey, store::StoreError> {
        let secret = store.secret_or_init(SECRET_NAME, crate::accounts::random_hex(32)).await?;
        Ok(SessionKey::new(&secret))
    }

    fn mac(&self, label: &str, data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(label.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    pub fn seal(&self, session: &Session) -> String {
        let payload = serde_json::to_vec(session).unwrap_or_default();
        let body = URL_SAFE_NO_PAD.encode(&payload);
        let tag = URL_SAFE_NO_PAD.encode(self.mac("session", body.as_bytes()));
        format!("{body}.{tag}")
    }

    /// The session a value stands for, if this key signed it and it has not expired.
    pub fn open(&self, value: &str, now_ms: i64) -> Option<Session> {
        let (body, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !bool::from(self.mac("session", body.as_bytes()).ct_eq(&tag)) {
            return None;
        }
        let session: Session = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (session.expires_ms > now_ms).then_some(session)
    }

    /// The CSRF token of the forms rendered for the session (or login nonce) `value`.
    pub fn csrf(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac("csrf", value.as_bytes()))
    }

    pub fn csrf_ok(&self, value: &str, token: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(token) else { return false };
        bool::from(self.mac("csrf", value.as_bytes()).ct_eq(&given))
    }
}

pub fn random_nonce() -> String {
    crate::accounts::random_hex(16)
}

/// Whether `session` was opened after the account last signed everyone out.
pub fn outlives_revocation(session: &Session, settings: &domain::account::AccountSettings) -> bool {
    settings.dashboard_sessions_not_before_ms.is_none_or(|not_before| session.issued_ms > not_before)
}

/// A session for `account_id` from now for `duration_ms`.
pub fn new_session(account_id: &str, access_key_id: Option<&str>, now_ms: i64, duration_ms: i64) -> Session {
    Session {
        account_id: account_id.to_string(),
        access_key_id: access_key_id.map(str::to_string),
        issued_ms: now_ms,
        expires_ms: now_ms.saturating_add(duration_ms),
        nonce: random_nonce(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::new("0123456789abcdef")
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let s = new_session("123456789012", Some("AKIAEXAMPLE"), 1_000, 5_000);
        let value = key().seal(&s);
        assert_eq!(key().open(&value, 5_999), Some(s));
        assert_eq!(key().open(&value, 6_000), None);
    }

    #[test]
    fn a_changed_or_foreign_session_does_not_open() {
        let value = key().seal(&new_session("123456789012", None, 0, 10_000));
        let (body, tag) = value.split_once('.').expect("two parts");
        let other = new_session("999999999999", None, 0, 10_000);
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).expect("json"));
        assert_eq!(key().open(&format!("{forged_body}.{tag}"), 1), None);
        assert_eq!(key().open(&format!("{body}.AAAA"), 1), None);
        assert_eq!(SessionKey::new("another secret").open(&value, 1), None);
        assert_eq!(key().open("no dot", 1), None);
    }

    #[test]
    fn revoking_ends_the_sessions_opened_until_then() {
        let mut settings = domain::account::AccountSettings::default();
        let before = new_session("123456789012", None, 1_000, 10_000);
        let after = new_session("123456789012", None, 2_001, 10_000);
        assert!(outlives_revocation(&before, &settings));
        settings.dashboard_sessions_not_before_ms = Some(2_000);
        assert!(!outlives_revocation(&before, &settings));
        assert!(outlives_revocation(&after, &settings));
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let a = key().seal(&new_session("123456789012", None, 0, 10_000));
        let b = key().seal(&new_session("123456789012", None, 0, 10_000));
        let token = key().csrf(&a);
        assert!(key().csrf_ok(&a, &token));
        assert!(!key().csrf_ok(&b, &token));
        assert!(!key().csrf_ok(&a, ""));
        assert!(!key().csrf_ok(&a, "not base64 !"));
    }
}
