//! Checks a request body against the model's constraints before it is decoded into a typed
//! shape, so that every operation gets the same, complete validation for free.
//!
//! Two kinds of failure, as AWS reports them: a value of the wrong JSON type cannot be read
//! at all (`SerializationException`), while a readable value that breaks a constraint
//! (required, enum, pattern, length, range) is the caller's argument error
//! (`ArgumentException`) and names the member, in AWS's "N validation errors detected"
//! wording. `null` counts as absent, as it does for AWS's JSON services.

use super::schema::{Kind, ShapeDef};
use super::SHAPES;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The body cannot be read as the shape: wrong JSON type.
    Serialization(String),
    /// The body reads, but breaks the model's constraints.
    Argument(String),
}

/// Validates `value` against shape number `shape` of the model.
pub fn validate(shape: usize, value: &Value) -> Result<(), Invalid> {
    let mut checker = Checker { violations: Vec::new() };
    checker.check(shape, value, "")?;
    match checker.violations.len() {
        0 => Ok(()),
        n => Err(Invalid::Argument(format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            checker.violations.join("; ")
        ))),
    }
}

struct Checker {
    violations: Vec<String>,
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_string()
    } else {
        format!("{path}.{member}")
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Patterns compiled once, by shape index. Smithy patterns are searches, not full matches
/// (`.*\S.*` means "contains a non-blank"), which is what `Regex::is_match` does.
fn pattern(shape: usize, source: &str) -> Option<&'static Regex> {
    static COMPILED: OnceLock<Vec<Option<Regex>>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        SHAPES
            .iter()
            .map(|s| match s.kind {
                Kind::String { pattern: Some(p), .. } => Regex::new(p).ok(),
                _ => None,
            })
            .collect()
    });
    debug_assert!(compiled[shape].is_some(), "pattern {source} does not compile");
    compiled[shape].as_ref()
}

impl Checker {
    fn wrong_type(path: &str, expected: &str, value: &Value) -> Invalid {
        let at = if path.is_empty() { "the request body".to_string() } else { format!("'{path}'") };
        Invalid::Serialization(format!("Expected {expected} at {at}, found {}", describe(value)))
    }

    fn violation(&mut self, value: &Value, path: &str, constraint: String) {
        let shown = match value {
            Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        };
        self.violations
            .push(format!("Value {shown} at '{path}' failed to satisfy constraint: Member must {constraint}"));
    }

    fn check(&mut self, shape: usize, value: &Value, path: &str) -> Result<(), Invalid> {
        let ShapeDef { kind, .. } = &SHAPES[shape];
        match kind {
            Kind::Structure { members } => {
                let Value::Object(fields) = value else {
                    return Err(Self::wrong_type(path, "an object", value));
                };
                for member in members.iter() {
                    let member_path = join(path, member.name);
                    match fields.get(member.name) {
                        None | Some(Value::Null) => {
                            if member.required {
                                self.violation(&Value::Null, &member_path, "not be null".into());
                            }
                        }
                        Some(v) => self.check(member.shape, v, &member_path)?,
                    }
                }
            }
            Kind::List { member, min, max } => {
                let Value::Array(items) = value else {
                    return Err(Self::wrong_type(path, "a list", value));
                };
                self.check_length(value, path, items.len(), *min, *max);
                for (i, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        self.check(*member, item, &format!("{}.member", join(path, &(i + 1).to_string())))?;
                    }
                }
            }
            Kind::Map { key, value: value_shape, min, max } => {
                let Value::Object(entries) = value else {
                    return Err(Self::wrong_type(path, "an object", value));
                };
                self.check_length(value, path, entries.len(), *min, *max);
                for (k, v) in entries {
                    self.check(*key, &Value::String(k.clone()), &format!("{path}.key"))?;
                    if !v.is_null() {
                        self.check(*value_shape, v, &join(path, k))?;
                    }
                }
            }
            Kind::String { enum_values, pattern: pat, min, max } => {
                let Value::String(s) = value else {
                    return Err(Self::wrong_type(path, "a string", value));
                };
                if !enum_values.is_empty() && !enum_values.contains(&s.as_str()) {
                    self.violation(value, path, format!("satisfy enum value set: [{}]", enum_values.join(", ")));
                }
                self.check_length(value, path, s.chars().count(), *min, *max);
                if let Some(p) = pat {
                    if pattern(shape, p).is_some_and(|re| !re.is_match(s)) {
                        self.violation(value, path, format!("satisfy regular expression pattern: {p}"));
                    }
                }
            }
            Kind::Integer { min, max, wide } => {
                let Some(n) = value.as_i64() else {
                    let integral = value.as_f64().is_some_and(|f| f.fract() == 0.0) || value.is_u64();
                    if integral {
                        self.violation(value, path, "fit in a 64-bit integer".into());
                        return Ok(());
                    }
                    return Err(Self::wrong_type(path, "an integer", value));
                };
                if !wide && i32::try_from(n).is_err() {
                    self.violation(value, path, "fit in a 32-bit integer".into());
                }
                self.check_range(value, path, n as f64, *min, *max);
            }
            Kind::Double { min, max } => {
                let Some(n) = value.as_f64() else {
                    return Err(Self::wrong_type(path, "a number", value));
                };
                self.check_range(value, path, n, *min, *max);
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return Err(Self::wrong_type(path, "a boolean", value));
                }
            }
            Kind::Timestamp => {
                if !value.is_number() {
                    return Err(Self::wrong_type(path, "a timestamp in epoch seconds", value));
                }
            }
            Kind::Blob => {
                if !value.is_string() {
                    return Err(Self::wrong_type(path, "a base64 string", value));
                }
            }
        }
        Ok(())
    }

    fn check_length(&mut self, value: &Value, path: &str, len: usize, min: Option<i64>, max: Option<i64>) {
        let len = len as i64;
        if let Some(min) = min.filter(|m| len < *m) {
            self.violation(value, path, format!("have length greater than or equal to {min}"));
        }
        if let Some(max) = max.filter(|m| len > *m) {
            self.violation(value, path, format!("have length less than or equal to {max}"));
        }
    }

    fn check_range(&mut self, value: &Value, path: &str, n: f64, min: Option<i64>, max: Option<i64>) {
        if let Some(min) = min.filter(|m| n < *m as f64) {
            self.violation(value, path, format!("have value greater than or equal to {min}"));
        }
        if let Some(max) = max.filter(|m| n > *m as f64) {
            self.violation(value, path, format!("have value less than or equal to {max}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{shape_index, Operation};
    use serde_json::json;

    fn input(op: Operation) -> usize {
        op.input_shape().expect("operation has an input")
    }

    #[test]
    fn every_pattern_compiles() {
        for (i, s) in SHAPES.iter().enumerate() {
            if let Kind::String { pattern: Some(p), .. } = s.kind {
                assert!(pattern(i, p).is_some(), "{} pattern {p}", s.name);
            }
        }
    }

    #[test]
    fn every_operation_has_an_input_structure() {
        assert_eq!(Operation::ALL.len(), 77);
        for op in Operation::ALL {
            let shape = input(op);
            assert!(matches!(SHAPES[shape].kind, Kind::Structure { .. }), "{}", op.name());
        }
    }

    #[test]
    fn required_member_missing_is_an_argument_error_naming_it() {
        let err = validate(input(Operation::StopJob), &json!({})).unwrap_err();
        assert_eq!(
            err,
            Invalid::Argument(
                "1 validation error detected: Value null at 'arn' failed to satisfy constraint: Member must not be null"
                    .into()
            )
        );
    }

    #[test]
    fn arn_pattern_and_length() {
        let shape = input(Operation::GetJob);
        assert!(validate(shape, &json!({"arn": "arn:aws:devicefarm:us-west-2:123456789012:job:a/b/00000"})).is_ok());
        let Err(Invalid::Argument(msg)) = validate(shape, &json!({"arn": "arn:aws:s3:::bucket-name-long-enough-x"}))
        else {
            panic!("expected an argument error")
        };
        assert!(msg.contains("regular expression pattern"), "{msg}");
        let Err(Invalid::Argument(msg)) = validate(shape, &json!({"arn": "arn:aws:devicefarm:x"})) else {
            panic!("expected an argument error")
        };
        assert!(msg.contains("length greater than or equal to 32"), "{msg}");
    }

    #[test]
    fn wrong_json_type_is_a_serialization_error() {
        let shape = input(Operation::CreateProject);
        assert!(matches!(validate(shape, &json!({"name": 5})), Err(Invalid::Serialization(_))));
        assert!(matches!(validate(shape, &json!([])), Err(Invalid::Serialization(_))));
        assert!(matches!(
            validate(shape, &json!({"name": "x", "defaultJobTimeoutMinutes": "5"})),
            Err(Invalid::Serialization(_))
        ));
    }

    #[test]
    fn integers_must_fit_their_width() {
        let shape = input(Operation::CreateProject);
        let err = validate(shape, &json!({"name": "x", "defaultJobTimeoutMinutes": 3_000_000_000i64}));
        assert!(matches!(err, Err(Invalid::Argument(m)) if m.contains("32-bit")));
        assert!(matches!(
            validate(shape, &json!({"name": "x", "defaultJobTimeoutMinutes": 1.5})),
            Err(Invalid::Serialization(_))
        ));
    }

    #[test]
    fn enums_include_the_seed_era_test_types() {
        let shape = shape_index("TestType").expect("TestType");
        for t in ["BUILTIN_EXPLORER", "CALABASH", "REMOTE_ACCESS_REPLAY", "APPIUM_PYTHON"] {
            assert!(validate(shape, &json!(t)).is_ok(), "{t}");
        }
        let Err(Invalid::Argument(msg)) = validate(shape, &json!("NOPE")) else { panic!("expected error") };
        assert!(msg.contains("enum value set"), "{msg}");
    }

    #[test]
    fn list_members_and_nested_paths_are_named() {
        let shape = input(Operation::ListDevices);
        let body = json!({"filters": [{"attribute": "PLATFORM", "operator": "EQUALS", "values": ["ANDROID"]},
                                      {"attribute": "BOGUS", "operator": "EQUALS", "values": ["x"]}]});
        let Err(Invalid::Argument(msg)) = validate(shape, &body) else { panic!("expected error") };
        assert!(msg.contains("'filters.2.member.attribute'"), "{msg}");
    }

    #[test]
    fn collects_every_violation() {
        let shape = input(Operation::CreateProject);
        let Err(Invalid::Argument(msg)) =
            validate(shape, &json!({"name": "n".repeat(257), "defaultJobTimeoutMinutes": 5, "vpcConfig": {}}))
        else {
            panic!("expected error")
        };
        assert!(msg.starts_with("4 validation errors detected"), "{msg}");
    }

    #[test]
    fn null_is_absent() {
        let shape = input(Operation::ListProjects);
        assert!(validate(shape, &json!({"arn": null, "nextToken": null})).is_ok());
    }
}
