//! Why a request failed authentication, expressed in the error codes and texts AWS
//! itself returns, so SDK retry and error-mapping logic behaves as against the real service.

use chrono::{DateTime, Duration, Utc};
use http::StatusCode;

use super::time::format_amz_date;

/// A SigV4 verification failure. `code()`, `message()` and `status()` give the wire form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither an `Authorization` header nor presigned query parameters were sent.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,

    /// The authorization data is present but malformed or lacks a required piece.
    #[error("{0}")]
    IncompleteSignature(String),

    /// The access key id is not known; only the caller's key store can decide this.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,

    /// The signature does not match the one computed with the stored secret.
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your AWS Secret Access Key and signing method. \
         Consult the service documentation for details."
    )]
    SignatureMismatch,

    /// The request time is older than the allowed window (header form) or the presigned URL
    /// has run out.
    #[error("{}", expired_message(.signed_at, .limit, .now, .window))]
    Expired {
        signed_at: DateTime<Utc>,
        /// The earliest acceptable time (header form) or the expiry instant (presigned).
        limit: DateTime<Utc>,
        now: DateTime<Utc>,
        /// `Some` for header form: the clock-skew window the limit was derived from.
        window: Option<Duration>,
    },

    /// The request time lies further in the future than clock skew explains.
    #[error(
        "Signature not yet current: {} is still later than {} ({} + 15 min.)",
        format_amz_date(.signed_at), format_amz_date(.limit), format_amz_date(.now)
    )]
    NotYetCurrent { signed_at: DateTime<Utc>, limit: DateTime<Utc>, now: DateTime<Utc> },

    /// The credential scope (date, region, service or terminator) is not the one this
    /// server accepts, or a header that must be signed is not.
    #[error("{0}")]
    InvalidSignature(String),

    /// The body does not hash to the signed `x-amz-content-sha256` value.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
}

fn expired_message(
    signed_at: &DateTime<Utc>,
    limit: &DateTime<Utc>,
    now: &DateTime<Utc>,
    window: &Option<Duration>,
) -> String {
    match window {
        Some(w) => format!(
            "Signature expired: {} is now earlier than {} ({} - {} min.)",
            format_amz_date(signed_at),
            format_amz_date(limit),
            format_amz_date(now),
            w.num_minutes()
        ),
        None => format!(
            "Signature expired: {} is now earlier than {} ({} + X-Amz-Expires)",
            format_amz_date(limit),
            format_amz_date(now),
            format_amz_date(signed_at),
        ),
    }
}

impl AuthError {
    /// For the caller's key lookup: the access key id in the request is not known.
    pub fn unrecognized_client() -> Self {
        Self::UnrecognizedClient
    }

    /// The AWS error code (`__type`) for this failure.
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            Self::MissingAuthenticationToken => ErrorCode::MissingAuthenticationToken,
            Self::IncompleteSignature(_) => ErrorCode::IncompleteSignature,
            Self::UnrecognizedClient => ErrorCode::UnrecognizedClient,
            Self::SignatureMismatch
            | Self::Expired { .. }
            | Self::NotYetCurrent { .. }
            | Self::InvalidSignature(_)
            | Self::ContentSha256Mismatch => ErrorCode::InvalidSignature,
        }
    }

    /// The human-readable message AWS would send with [`code`](Self::code).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The HTTP status AWS uses for this failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::IncompleteSignature(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// Why a request could not be signed (signing side: presigned URLs and test helpers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("a request must carry a host header to be signed")]
    MissingHost,
    #[error("the payload hash is unknown: give payload_sha256 or an x-amz-content-sha256 header")]
    MissingPayloadHash,
    #[error("url base {0:?} has no host")]
    InvalidUrlBase(String),
    #[error("expiry must be between 1 and 604800 seconds, got {0}")]
    InvalidExpiry(u64),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 8, 30, h, m, 0).single().unwrap()
    }

    #[test]
    fn expired_message_matches_aws_wording() {
        let err = AuthError::Expired {
            signed_at: at(12, 36),
            limit: at(12, 41),
            now: at(12, 56),
            window: Some(Duration::minutes(15)),
        };
        assert_eq!(
            err.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z \
             (20150830T125600Z - 15 min.)"
        );
        assert_eq!(err.code().as_str(), "InvalidSignatureException");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn codes_and_statuses_follow_aws() {
        assert_eq!(AuthError::MissingAuthenticationToken.code().as_str(), "MissingAuthenticationTokenException");
        assert_eq!(AuthError::MissingAuthenticationToken.status(), StatusCode::FORBIDDEN);
        let incomplete = AuthError::IncompleteSignature("x".into());
        assert_eq!(incomplete.code().as_str(), "IncompleteSignatureException");
        assert_eq!(incomplete.status(), StatusCode::BAD_REQUEST);
        assert_eq!(AuthError::unrecognized_client().code().as_str(), "UnrecognizedClientException");
        assert_eq!(
            AuthError::unrecognized_client().message(),
            "The security token included in the request is invalid."
        );
        assert!(AuthError::SignatureMismatch
            .message()
            .starts_with("The request signature we calculated does not match the signature you provided. Check"));
    }
}
