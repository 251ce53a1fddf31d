//! The errors farmhand answers with, in the AWS JSON 1.1 shape: HTTP status plus
//! `{"__type": CODE, "message": TEXT}`. Every failure a client can see is one of these, so
//! the SDKs raise the exception class they model (boto3's `client.exceptions.NotFoundException`…).

use serde_json::json;

/// Error codes. The first group is modelled by Device Farm; the rest are the protocol-level
/// codes every AWS JSON service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Argument,
    NotFound,
    LimitExceeded,
    ServiceAccount,
    Idempotency,
    NotEligible,
    CannotDelete,
    InvalidOperation,
    TagOperation,
    TagPolicy,
    TooManyTags,
    InternalService,
    /// The server cannot do its part now but will once its operator acts (e.g. its storage
    /// is full): 503, which the SDKs retry.
    ServiceUnavailable,
    UnknownOperation,
    /// A known operation that farmhand does not implement yet.
    UnsupportedOperation,
    Serialization,
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
    AccessDenied,
    /// Over a rate: AWS's generic throttling error, which the SDKs retry with back-off.
    Throttling,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Argument => "ArgumentException",
            ErrorCode::NotFound => "NotFoundException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::ServiceAccount => "ServiceAccountException",
            ErrorCode::Idempotency => "IdempotencyException",
            ErrorCode::NotEligible => "NotEligibleException",
            ErrorCode::CannotDelete => "CannotDeleteException",
            ErrorCode::InvalidOperation => "InvalidOperationException",
            ErrorCode::TagOperation => "TagOperationException",
            ErrorCode::TagPolicy => "TagPolicyException",
            ErrorCode::TooManyTags => "TooManyTagsException",
            ErrorCode::InternalService => "InternalServiceException",
            ErrorCode::ServiceUnavailable => "ServiceUnavailableException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::UnsupportedOperation => "UnsupportedOperationException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorCode::IncompleteSignature => "IncompleteSignatureException",
            ErrorCode::InvalidSignature => "InvalidSignatureException",
            ErrorCode::UnrecognizedClient => "UnrecognizedClientException",
            ErrorCode::AccessDenied => "AccessDeniedException",
            ErrorCode::Throttling => "ThrottlingException",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalService => 500,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::MissingAuthenticationToken
            | ErrorCode::InvalidSignature
            | ErrorCode::UnrecognizedClient
            | ErrorCode::AccessDenied => 403,
            _ => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Argument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceeded, message)
    }
    pub fn service_account(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ServiceAccount, message)
    }
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Serialization, message)
    }
    /// The client sees a generic message; the cause goes to the server's log only, since it
    /// may carry paths or SQL.
    pub fn internal() -> Self {
        Self::new(ErrorCode::InternalService, "An internal error occurred. The request can be retried.")
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn body(&self) -> Vec<u8> {
        json!({"__type": self.code.as_str(), "message": self.message}).to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_json_1_1_error_shape() {
        let e = ApiError::not_found("No job with that ARN.");
        let v: serde_json::Value = serde_json::from_slice(&e.body()).expect("json");
        assert_eq!(v["__type"], "NotFoundException");
        assert_eq!(v["message"], "No job with that ARN.");
        assert_eq!(e.status(), 400);
        assert_eq!(ApiError::internal().status(), 500);
        assert_eq!(ApiError::new(ErrorCode::ServiceUnavailable, "x").status(), 503);
        assert_eq!(ApiError::new(ErrorCode::UnrecognizedClient, "x").status(), 403);
    }
}
