//! `nextToken`s: where the next page of a list starts, sealed with an HMAC so that a token
//! is only accepted by the list that issued it. A token edited by hand, or one taken from a
//! different list (another operation, project or account), is an `ArgumentException` instead
//! of a silently wrong page.
//!
//! The cursor is keyset-based (creation time, then ARN) rather than an offset, so pages
//! stay correct while resources are created or deleted between calls.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Device Farm's list operations return at most this many items per call.
pub const PAGE_SIZE: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_ms: i64,
    pub arn: String,
}

pub struct TokenSealer {
    key: Vec<u8>,
}

impl TokenSealer {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    fn tag(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        // `new_from_slice` accepts keys of any length for HMAC, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(scope.as_bytes());
        mac.update(b"\n");
        mac.update(payload);
        mac
    }

    /// `scope` names the list: operation plus every parameter that selects its items.
    pub fn seal(&self, scope: &str, cursor: &Cursor) -> String {
        let payload = format!("{}|{}", cursor.created_ms, cursor.arn);
        let tag = self.tag(scope, payload.as_bytes()).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    pub fn open(&self, scope: &str, token: &str) -> Result<Cursor, ApiError> {
        let invalid = || ApiError::argument("The nextToken is invalid: it was not issued for this list.");
        let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        self.tag(scope, &payload).verify_slice(&tag).map_err(|_| invalid())?;
        let payload = String::from_utf8(payload).map_err(|_| invalid())?;
        let (created, arn) = payload.split_once('|').ok_or_else(invalid)?;
        Ok(Cursor { created_ms: created.parse().map_err(|_| invalid())?, arn: arn.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sealer() -> TokenSealer {
        TokenSealer::new(b"test key".to_vec())
    }

    #[test]
    fn round_trips_and_is_scoped() {
        let c = Cursor { created_ms: 1_700_000_000_123, arn: "arn:aws:devicefarm:us-west-2:1:project:x".into() };
        let t = sealer().seal("ListProjects|123", &c);
        assert_eq!(sealer().open("ListProjects|123", &t).expect("valid"), c);
        assert!(sealer().open("ListProjects|456", &t).is_err());
        assert!(TokenSealer::new(b"other".to_vec()).open("ListProjects|123", &t).is_err());
    }

    proptest! {
        #[test]
        fn any_edit_is_rejected(created in any::<i64>(), arn in "[ -~]{0,80}", pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let t = sealer().seal("s", &Cursor { created_ms: created, arn });
            let mut bytes = t.clone().into_bytes();
            let i = pos.index(bytes.len());
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            if let Ok(edited) = String::from_utf8(bytes) {
                // Base64 without padding has spare low bits in its last character; an edit
                // there can decode to the same bytes, which is the same token, not a forgery.
                if let Ok(c) = sealer().open("s", &edited) {
                    prop_assert_eq!(Ok(c), sealer().open("s", &t));
                }
            }
        }

        #[test]
        fn garbage_never_panics(s in ".{0,200}") {
            let _ = sealer().open("s", &s);
        }
    }
}
