//! The token in a URL farmhand hands out to be used without AWS credentials: a TestGrid
//! hub URL (`…/testgrid/TOKEN/wd/hub`) or a remote access session's endpoint
//! (`…/remote-access/TOKEN`). It says who may use it (account and resource) and until when,
//! sealed with an HMAC under a secret every replica shares through the store. Opaque to
//! clients, and any change to it is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// What a URL opens; each purpose seals with a secret of its own, so a token of one is
/// nothing to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    TestGrid,
    RemoteAccess,
}

impl Purpose {
    /// The store's name for the purpose's secret (`secret_or_init`).
    fn secret_name(self) -> &'static str {
        match self {
            Purpose::TestGrid => "testgrid-url-key",
            Purpose::RemoteAccess => "remote-access-url-key",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Purpose::TestGrid => "TestGrid URL",
            Purpose::RemoteAccess => "remote access URL",
        }
    }
}

const VERSION: &str = "v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub account_id: String,
    /// The resource's ARN id: a TestGrid project's, a remote access session's.
    pub resource: String,
    /// Service-clock instant after which the URL works for nothing.
    pub expires_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Forged(Purpose),
    Expired(Purpose),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Forged(p) => write!(f, "this {} is not one this farm issued (it was changed or cut)", p.noun()),
            TokenError::Expired(p) => write!(f, "this {} expired", p.noun()),
        }
    }
}

impl std::error::Error for TokenError {}

pub struct TokenKey {
    secret: Vec<u8>,
    purpose: Purpose,
}

impl TokenKey {
    pub fn new(secret: &str, purpose: Purpose) -> Self {
        TokenKey { secret: secret.as_bytes().to_vec(), purpose }
    }

    pub async fn load(store: &dyn store::Store, purpose: Purpose) -> Result<TokenKey, store::StoreError> {
        let secret = store.secret_or_init(purpose.secret_name(), crate::accounts::random_hex(32)).await?;
        Ok(TokenKey::new(&secret, purpose))
    }

    fn mac(&self, payload: &str) -> Vec<u8> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    pub fn seal(&self, grant: &Grant) -> String {
        let payload = format!("{VERSION}\n{}\n{}\n{}", grant.account_id, grant.resource, grant.expires_ms);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(self.mac(&payload)))
    }

    /// The grant a token carries, if it is one of ours and has not expired at `now_ms`.
    pub fn open(&self, token: &str, now_ms: i64) -> Result<Grant, TokenError> {
        let forged = TokenError::Forged(self.purpose);
        let (payload, mac) = token.split_once('.').ok_or(forged.clone())?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| forged.clone())?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| forged.clone())?;
        let payload = String::from_utf8(payload).map_err(|_| forged.clone())?;
        if !bool::from(self.mac(&payload).ct_eq(&mac)) {
            return Err(forged);
        }
        let fields: Vec<&str> = payload.split('\n').collect();
        let [VERSION, account_id, resource, expires] = fields.as_slice() else { return Err(forged) };
        let expires_ms: i64 = expires.parse().map_err(|_| forged.clone())?;
        if now_ms >= expires_ms {
            return Err(TokenError::Expired(self.purpose));
        }
        Ok(Grant { account_id: account_id.to_string(), resource: resource.to_string(), expires_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant { account_id: "123456789012".into(), resource: "p-1".into(), expires_ms: 10_000 }
    }

    #[test]
    fn a_sealed_grant_opens_until_it_expires() {
        let key = TokenKey::new("secret", Purpose::TestGrid);
        let token = key.seal(&grant());
        assert_eq!(key.open(&token, 9_999), Ok(grant()));
        assert_eq!(key.open(&token, 10_000), Err(TokenError::Expired(Purpose::TestGrid)));
    }

    #[test]
    fn any_change_or_another_key_is_refused() {
        let key = TokenKey::new("secret", Purpose::TestGrid);
        let token = key.seal(&grant());
        let mut bytes = token.clone().into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(&String::from_utf8(bytes).unwrap(), 0), Err(TokenError::Forged(Purpose::TestGrid)));
        assert_eq!(
            TokenKey::new("other", Purpose::TestGrid).open(&token, 0),
            Err(TokenError::Forged(Purpose::TestGrid))
        );
        assert_eq!(key.open("nonsense", 0), Err(TokenError::Forged(Purpose::TestGrid)));
        let longer = Grant { expires_ms: 99_999_999, ..grant() };
        let (_, mac) = token.split_once('.').unwrap();
        let (payload, _) = key.seal(&longer).split_once('.').map(|(p, m)| (p.to_string(), m.to_string())).unwrap();
        assert_eq!(key.open(&format!("{payload}.{mac}"), 0), Err(TokenError::Forged(Purpose::TestGrid)));
    }

    #[test]
    fn a_token_of_one_purpose_opens_nothing_of_another() {
        let token = TokenKey::new("secret", Purpose::TestGrid).seal(&grant());
        let other = TokenKey::new("other", Purpose::RemoteAccess);
        assert_eq!(other.open(&token, 0), Err(TokenError::Forged(Purpose::RemoteAccess)));
    }
}
