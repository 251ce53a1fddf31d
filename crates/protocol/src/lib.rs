//! # protocol
//!
//! The Device Farm wire format, independent of any HTTP framework: which operation a
//! request names, how its JSON body decodes and validates against botocore's service
//! model, how errors are shaped, how requests are authenticated (SigV4) and how list
//! pages are continued.
//!
//! ## Layout
//! - [`model`]: operations, shapes and constraint tables generated from the service model.
//! - [`decode`]: body → validated, typed operation input.
//! - [`error`]: AWS JSON 1.1 error codes and bodies.
//! - [`pagination`]: sealed keyset `nextToken`s.
//! - [`progress`]: tests ended of all, from wire counters (progress bars).
//! - [`sigv4`]: AWS Signature Version 4 verification (header and presigned-query forms).

pub mod decode;
pub mod error;
pub mod model;
pub mod pagination;
pub mod progress;
pub mod sigv4;

pub use decode::decode_input;
pub use error::{ApiError, ErrorCode};
