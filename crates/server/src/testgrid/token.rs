//! The token in a TestGrid hub URL (`…/testgrid/TOKEN/wd/hub`): who may use the hub
//! (account and project) and until when, sealed with an HMAC under a secret every replica
//! shares through the store. Opaque to clients, and any change to it is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The store's name for the secret the tokens are sealed with (`secret_or_init`).
const SECRET_NAME: &str = "testgrid-url-key";
const VERSION: &str = "v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub account_id: String,
    /// The TestGrid project's id (its ARN's last part).
    pub project_id: String,
    /// Service-clock instant after which the URL works for nothing.
    pub expires_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this TestGrid URL is not one this farm issued (it was changed or cut)")]
    Forged,
    #[error("this TestGrid URL expired")]
    Expired,
}

pub struct TokenKey(Vec<u8>);

impl TokenKey {
    pub fn new(secret: &str) -> Self {
        TokenKey(secret.as_bytes().to_vec())
    }

    pub async fn load(store: &dyn store::Store) -> Result<TokenKey, store::StoreError> {
        Ok(TokenKey::new(&store.secret_or_init(SECRET_NAME, crate::accounts::random_hex(32)).await?))
    }

    fn mac(&self, payload: &str) -> Vec<u8> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    pub fn seal(&self, grant: &Grant) -> String {
        let payload = format!("{VERSION}\n{}\n{}\n{}", grant.account_id, grant.project_id, grant.expires_ms);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(self.mac(&payload)))
    }

    /// The grant a token carries, if it is one of ours and has not expired at `now_ms`.
    pub fn open(&self, token: &str, now_ms: i64) -> Result<Grant, TokenError> {
        let (payload, mac) = token.split_once('.').ok_or(TokenError::Forged)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Forged)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| TokenError::Forged)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Forged)?;
        if !bool::from(self.mac(&payload).ct_eq(&mac)) {
            return Err(TokenError::Forged);
        }
        let fields: Vec<&str> = payload.split('\n').collect();
        let [VERSION, account_id, project_id, expires] = fields.as_slice() else { return Err(TokenError::Forged) };
        let expires_ms: i64 = expires.parse().map_err(|_| TokenError::Forged)?;
        if now_ms >= expires_ms {
            return Err(TokenError::Expired);
        }
        Ok(Grant { account_id: account_id.to_string(), project_id: project_id.to_string(), expires_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant { account_id: "123456789012".into(), project_id: "p-1".into(), expires_ms: 10_000 }
    }

    #[test]
    fn a_sealed_grant_opens_until_it_expires() {
        let key = TokenKey::new("secret");
        let token = key.seal(&grant());
        assert_eq!(key.open(&token, 9_999), Ok(grant()));
        assert_eq!(key.open(&token, 10_000), Err(TokenError::Expired));
    }

    #[test]
    fn any_change_or_another_key_is_refused() {
        let key = TokenKey::new("secret");
        let token = key.seal(&grant());
        let mut bytes = token.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(&String::from_utf8(bytes).unwrap(), 0), Err(TokenError::Forged));
        assert_eq!(TokenKey::new("other").open(&token, 0), Err(TokenError::Forged));
        assert_eq!(key.open("nonsense", 0), Err(TokenError::Forged));
        let longer = Grant { expires_ms: 99_999_999, ..grant() };
        let (_, mac) = token.split_once('.').unwrap();
        let (payload, _) = key.seal(&longer).split_once('.').map(|(p, m)| (p.to_string(), m.to_string())).unwrap();
        assert_eq!(key.open(&format!("{payload}.{mac}"), 0), Err(TokenError::Forged));
    }
}
