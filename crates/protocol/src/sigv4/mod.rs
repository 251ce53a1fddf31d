//! AWS Signature Version 4: verifying requests signed by AWS SDKs (header form) and by
//! farmhand's own presigned URLs (query form), and issuing such URLs.
//!
//! ## Flow
//! The secret lives in a database, so checking is two steps:
//! 1. [`parse`] a [`RequestParts`] into a [`ParsedAuth`] (no secret needed) and read its
//!    [`access_key_id`](ParsedAuth::access_key_id); an unknown key is
//!    [`AuthError::unrecognized_client`].
//! 2. [`ParsedAuth::verify`] with the secret, the current time and the [`Expectation`]
//!    (region, service) gives a [`VerifiedRequest`] or an [`AuthError`] carrying AWS's
//!    error code, message and HTTP status.
//!
//! ## Layout (one file per SigV4 step)
//! - [`canonical_request`]: canonical URI (non-S3 rule: normalised, encoded once more),
//!   query and headers.
//! - [`string_to_sign`], [`signing_key`]: the two hashing steps.
//! - `authorization` / `presign`: reading the header form and the query form; `presign`
//!   also issues URLs.
//! - `credential`, `time`: the credential scope and timestamp formats.
//! - `verify`: the checks; `sign`: header-form signing for tests and tools.
//!
//! ## Why not a crate
//! `scratchstack-aws-signature` (0.11) was evaluated: it verifies only, has no signing side
//! for presigned URLs, does not enforce `X-Amz-Expires`, and wants a `tower::Service` key
//! lookup returning its own ARN `Principal` over an `http::Request` with the body, pulling in
//! tower, derive_builder and its ARN/principal crates. The algorithm is a few hundred lines of
//! pure functions over hmac/sha2, tested byte for byte against AWS's published vectors and
//! botocore, so it is written here.

pub mod canonical_request;
pub mod signing_key;
pub mod string_to_sign;

mod authorization;
mod credential;
mod error;
mod presign;
mod sign;
mod time;
mod verify;

pub use error::{AuthError, SignError};
pub use presign::{presign, PresignTarget, MAX_EXPIRES_SECS, UNSIGNED_PAYLOAD};
pub use sign::{sign_headers, SigningParams};
pub use time::MAX_CLOCK_SKEW;
pub use verify::{parse, AuthForm, Expectation, ParsedAuth, RequestParts, VerifiedRequest};
