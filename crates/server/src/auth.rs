//! Authenticates a request: SigV4 says whose key signed it, the store says which account
//! that key belongs to. Only a request that passes both reaches an operation.

use super::throttle::Throttle;
use super::AppState;
use domain::account::Account;
use protocol::sigv4::{self, AuthError, Expectation, RequestParts};
use protocol::ApiError;

/// The service name in the credential scope, as every SDK signs Device Farm requests.
pub const SIGNING_SERVICE: &str = "devicefarm";

pub fn auth_error(e: AuthError) -> ApiError {
    ApiError::new(e.code(), e.message())
}

/// Why a JSON API request is not served.
#[derive(Debug)]
pub enum Refusal {
    Failed(ApiError),
    /// Over a rate: answered ThrottlingException, which ApiError's codes do not include.
    Throttled,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Failed(e)
    }
}

/// Like [`authenticate`], with the limits applied: a request over its key's rate, or from an
/// address that keeps failing, is refused before the store is asked anything. Only a key
/// whose signature verified is charged, so a forger cannot spend someone else's rate.
pub async fn authenticate_throttled(
    state: &AppState,
    throttle: &Throttle,
    peer: Option<std::net::IpAddr>,
    parts: &RequestParts<'_>,
) -> Result<Account, Refusal> {
    let now = std::time::Instant::now();
    let parsed = match sigv4::parse(parts) {
        Ok(parsed) => parsed,
        Err(e) => {
            throttle.failed(peer, now);
            return Err(auth_error(e).into());
        }
    };
    let key_id = parsed.access_key_id();
    if !throttle.may_verify(key_id, peer, now) {
        return Err(Refusal::Throttled);
    }
    match verified(state, &parsed).await {
        Ok(account) if throttle.admit(key_id, now) => Ok(account),
        Ok(_) => Err(Refusal::Throttled),
        Err(e) => {
            if e.code != protocol::ErrorCode::InternalService {
                throttle.failed(peer, now);
            }
            Err(e.into())
        }
    }
}

pub async fn authenticate(state: &AppState, parts: &RequestParts<'_>) -> Result<Account, ApiError> {
    verified(state, &sigv4::parse(parts).map_err(auth_error)?).await
}

/// The account whose key made the signature `parsed` reads, once the signature verifies.
async fn verified(state: &AppState, parsed: &sigv4::ParsedAuth) -> Result<Account, ApiError> {
    let (key, account) = state
        .store
        .access_key_with_account(parsed.access_key_id())
        .await
        .map_err(|e| state.internal(e))?
        .filter(|(k, _)| k.revoked_ms.is_none())
        .ok_or_else(|| auth_error(AuthError::unrecognized_client()))?;
    let expect = Expectation { region: &state.region, service: SIGNING_SERVICE };
    parsed.verify(&key.secret_access_key, state.wall_now(), &expect).map_err(auth_error)?;
    Ok(account)
}
