//! Turns a request body into an operation's typed input: parse JSON, validate against the
//! model, then deserialize. Validation first means the typed decode cannot fail on a body
//! that the model allows, and every failure carries AWS's error code.

use crate::error::ApiError;
use crate::model::validate::{validate, Invalid};
use crate::model::Operation;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub fn decode_input<T: DeserializeOwned>(operation: Operation, body: &[u8]) -> Result<T, ApiError> {
    // An empty body is an empty input, as the SDKs send for operations without members.
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::serialization(format!("The request body is not valid JSON: {e}")))?
    };
    if let Some(shape) = operation.input_shape() {
        validate(shape, &value).map_err(|invalid| match invalid {
            Invalid::Serialization(m) => ApiError::serialization(m),
            Invalid::Argument(m) => ApiError::argument(m),
        })?;
    }
    serde_json::from_value(value).map_err(|e| ApiError::serialization(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::{CreateProjectRequest, ListProjectsRequest};

    #[test]
    fn decodes_a_valid_body() {
        let req: CreateProjectRequest =
            decode_input(Operation::CreateProject, br#"{"name":"demo","defaultJobTimeoutMinutes":30}"#).expect("valid");
        assert_eq!(req.name, "demo");
        assert_eq!(req.default_job_timeout_minutes, Some(30));
    }

    #[test]
    fn empty_body_is_empty_input() {
        let req: ListProjectsRequest = decode_input(Operation::ListProjects, b"").expect("valid");
        assert_eq!(req.arn, None);
    }

    #[test]
    fn malformed_json_is_serialization_error() {
        let err = decode_input::<CreateProjectRequest>(Operation::CreateProject, b"{nope").unwrap_err();
        assert_eq!(err.code, ErrorCode::Serialization);
    }

    #[test]
    fn missing_required_is_argument_error() {
        let err = decode_input::<CreateProjectRequest>(Operation::CreateProject, b"{}").unwrap_err();
        assert_eq!(err.code, ErrorCode::Argument);
        assert!(err.message.contains("'name'"));
    }
}
