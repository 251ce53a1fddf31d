//! Authenticates a request: SigV4 says whose key signed it, the store says which account
//! that key belongs to. Only a request that passes both reaches an operation.

use super::AppState;
use domain::account::Account;
use protocol::sigv4::{self, AuthError, Expectation, RequestParts};
use protocol::{ApiError, ErrorCode};

/// The service name in the credential scope, as every SDK signs Device Farm requests.
pub const SIGNING_SERVICE: &str = "devicefarm";

pub fn auth_error(e: AuthError) -> ApiError {
    let code = match e.code() {
        "MissingAuthenticationTokenException" => ErrorCode::MissingAuthenticationToken,
        "IncompleteSignatureException" => ErrorCode::IncompleteSignature,
        "UnrecognizedClientException" => ErrorCode::UnrecognizedClient,
        _ => ErrorCode::InvalidSignature,
    };
    ApiError::new(code, e.message())
}

pub async fn authenticate(state: &AppState, parts: &RequestParts<'_>) -> Result<Account, ApiError> {
    let parsed = sigv4::parse(parts).map_err(auth_error)?;
    let key = state
        .store
        .access_key(parsed.access_key_id())
        .await
        .map_err(|e| state.internal(e))?
        .filter(|k| k.revoked_ms.is_none())
        .ok_or_else(|| auth_error(AuthError::unrecognized_client()))?;
    let expect = Expectation { region: &state.region, service: SIGNING_SERVICE };
    parsed
        .verify(&key.secret_access_key, state.wall_now(), &expect)
        .map_err(auth_error)?;
    state
        .store
        .account(&key.account_id)
        .await
        .map_err(|e| state.internal(e))?
        .ok_or_else(|| auth_error(AuthError::unrecognized_client()))
}
