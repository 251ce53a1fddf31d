//! Device-pool rules (`CreateDevicePool`/`UpdateDevicePool` `rules`).
//!
//! A rule carries a single string `value` that AWS JSON-encodes: `"\"ANDROID\""` for
//! `EQUALS`, `"[\"A\",\"B\"]"` for `IN`/`NOT_IN`. AWS's own UpdateDevicePool example
//! sends a bare `True`, so a value that is not a JSON string or JSON array is taken as
//! the text itself. (That also keeps a bare `10.10` from turning into the number 10.1.)
//!
//! The allowed operators per attribute are those of the model's `Rule` docs
//! ([`DeviceAttribute::rule_operators`]); value comparison is described in
//! [`super::condition`]. A pool's devices are those matching all of its rules.

use serde::{Deserialize, Serialize};

use super::attribute::{DeviceAttribute, RuleOperator};
use super::condition::{Condition, ValueError};
use super::model::Device;
use super::wire_enum::join;

/// `Rule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub attribute: DeviceAttribute,
    pub operator: RuleOperator,
    pub value: String,
}

/// Why a rule is invalid. The Display text is meant for an `ArgumentException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error(
        "Invalid device pool rule: attribute {attribute} does not support operator {operator} (supported: {})",
        join(attribute.rule_operators())
    )]
    UnsupportedOperator { attribute: DeviceAttribute, operator: RuleOperator },
    #[error("Invalid device pool rule {attribute} {operator}: value {value} is a JSON array with items that are not strings")]
    NonStringListItem { attribute: DeviceAttribute, operator: RuleOperator, value: String },
    #[error("Invalid device pool rule {attribute} {operator}: {problem}")]
    Value { attribute: DeviceAttribute, operator: RuleOperator, problem: ValueError },
}

impl Rule {
    pub fn new(attribute: DeviceAttribute, operator: RuleOperator, value: impl Into<String>) -> Self {
        Rule { attribute, operator, value: value.into() }
    }

    /// A rule whose value is encoded the way AWS encodes it: a JSON array for
    /// `IN`/`NOT_IN`, a JSON string otherwise (only the first value is used then).
    pub fn encoded(attribute: DeviceAttribute, operator: RuleOperator, values: &[&str]) -> Self {
        let value = if operator.takes_value_list() {
            serde_json::Value::from(values.to_vec()).to_string()
        } else {
            serde_json::Value::from(values.first().copied().unwrap_or_default()).to_string()
        };
        Rule::new(attribute, operator, value)
    }

    /// The values the rule's `value` encodes.
    pub fn values(&self) -> Result<Vec<String>, RuleError> {
        match serde_json::from_str::<serde_json::Value>(&self.value) {
            Ok(serde_json::Value::String(s)) => Ok(vec![s]),
            Ok(serde_json::Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Ok(s),
                    _ => Err(RuleError::NonStringListItem {
                        attribute: self.attribute,
                        operator: self.operator,
                        value: self.value.clone(),
                    }),
                })
                .collect(),
            _ => Ok(vec![self.value.clone()]),
        }
    }

    pub fn validate(&self) -> Result<(), RuleError> {
        self.condition().map(|_| ())
    }

    /// Whether `device` satisfies this rule. An invalid rule matches nothing; pools
    /// validate their rules when created or updated.
    pub fn matches(&self, device: &Device) -> bool {
        self.condition().is_ok_and(|c| c.matches(device))
    }

    fn condition(&self) -> Result<Condition, RuleError> {
        if !self.attribute.rule_operators().contains(&self.operator) {
            return Err(RuleError::UnsupportedOperator { attribute: self.attribute, operator: self.operator });
        }
        let values = self.values()?;
        Condition::new(self.attribute, self.operator, &values).map_err(|problem| RuleError::Value {
            attribute: self.attribute,
            operator: self.operator,
            problem,
        })
    }
}

/// Validates every rule, reporting the first invalid one.
pub fn validate_rules(rules: &[Rule]) -> Result<(), RuleError> {
    rules.iter().try_for_each(Rule::validate)
}

/// Whether `device` satisfies every rule (an empty list admits every device).
pub fn matches_all_rules(rules: &[Rule], device: &Device) -> bool {
    rules.iter().all(|r| r.matches(device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_support::{iphone, pixel};
    use proptest::prelude::*;
    use DeviceAttribute as A;
    use RuleOperator as Op;

    #[test]
    fn decodes_json_strings_arrays_and_bare_text() {
        let values = |v: &str| Rule::new(A::Model, Op::In, v).values().expect("decodes");
        assert_eq!(values("\"ANDROID\""), ["ANDROID"]);
        assert_eq!(values("[\"A\",\"B\"]"), ["A", "B"]);
        assert_eq!(values("True"), ["True"]);
        assert_eq!(values("10.10"), ["10.10"]);
        assert_eq!(values("[]"), Vec::<String>::new());
        let err = Rule::new(A::Model, Op::In, "[1, \"a\"]").values().expect_err("number item");
        assert!(matches!(err, RuleError::NonStringListItem { .. }));
    }

    #[test]
    fn aws_examples_validate_and_match() {
        let pixel = pixel();
        let arn_in = Rule::new(A::Arn, Op::In, format!("[\"{}\",\"other\"]", pixel.arn));
        assert!(arn_in.validate().is_ok());
        assert!(arn_in.matches(&pixel));
        assert!(!arn_in.matches(&iphone()));
        let remote = Rule::new(A::RemoteAccessEnabled, Op::Equals, "True");
        assert!(remote.matches(&pixel) && !remote.matches(&iphone()));
        let platform = Rule::new(A::Platform, Op::Equals, "\"ANDROID\"");
        assert!(platform.matches(&pixel));
        let os = Rule::new(A::OsVersion, Op::GreaterThanOrEquals, "\"7.0\"");
        assert!(os.matches(&pixel) && os.matches(&iphone()));
        let os = Rule::new(A::OsVersion, Op::LessThan, "\"17.4\"");
        assert!(os.matches(&pixel) && !os.matches(&iphone()));
    }

    #[test]
    fn rules_allow_in_on_platform_where_filters_do_not() {
        let both = Rule::new(A::Platform, Op::In, "[\"ANDROID\",\"IOS\"]");
        assert!(both.matches(&pixel()) && both.matches(&iphone()));
        let not_tablet = Rule::new(A::FormFactor, Op::NotIn, "[\"TABLET\"]");
        assert!(not_tablet.matches(&pixel()));
    }

    #[test]
    fn errors_read_well() {
        let err = Rule::new(A::InstanceArn, Op::Equals, "\"x\"").validate().expect_err("no EQUALS");
        assert_eq!(
            err.to_string(),
            "Invalid device pool rule: attribute INSTANCE_ARN does not support operator EQUALS (supported: IN, NOT_IN)"
        );
        let err = Rule::new(A::Platform, Op::Equals, "[\"ANDROID\",\"IOS\"]").validate().expect_err("two");
        assert_eq!(
            err.to_string(),
            "Invalid device pool rule PLATFORM EQUALS: EQUALS needs exactly one value, but 2 were given"
        );
        let err = Rule::new(A::Arn, Op::In, "[]").validate().expect_err("empty list");
        assert!(err.to_string().contains("at least one value"), "{err}");
        assert!(Rule::new(A::Platform, Op::Equals, "\"WINDOWS\"").validate().is_err());
    }

    #[test]
    fn encoded_round_trips_through_values() {
        let rule = Rule::encoded(A::Manufacturer, Op::In, &["Apple", "Google \"Pixel\""]);
        assert_eq!(rule.values().expect("decodes"), ["Apple", "Google \"Pixel\""]);
        let rule = Rule::encoded(A::Platform, Op::Equals, &["IOS"]);
        assert_eq!(rule.value, "\"IOS\"");
        assert!(matches_all_rules(&[rule], &iphone()));
        assert!(validate_rules(&[Rule::encoded(A::OsVersion, Op::In, &["14", "x"])]).is_err());
    }

    proptest! {
        #[test]
        fn validation_never_panics_and_invalid_rules_match_nothing(
            attribute in prop::sample::select(A::ALL.to_vec()),
            operator in prop::sample::select(RuleOperator::ALL.to_vec()),
            value in prop_oneof![".{0,24}", "\\[(\"[A-Z0-9.]{0,6}\",?){0,3}\\]"],
        ) {
            let rule = Rule::new(attribute, operator, value);
            if rule.validate().is_err() {
                prop_assert!(!rule.matches(&pixel()) && !rule.matches(&iphone()));
            }
        }

        #[test]
        fn in_and_not_in_are_complements(
            attribute in prop::sample::select(vec![A::Arn, A::Platform, A::FormFactor, A::Manufacturer, A::InstanceArn, A::OsVersion, A::Model]),
            values in prop::collection::vec(prop_oneof![
                Just("ANDROID"), Just("PHONE"), Just("Apple"), Just("14"), Just("17.4"),
                Just("Google Pixel 8"),
                Just("arn:aws:devicefarm:us-west-2::device:22222222222222222222222222222222"),
            ], 1..4),
        ) {
            let inside = Rule::encoded(attribute, Op::In, &values);
            let outside = Rule::encoded(attribute, Op::NotIn, &values);
            if inside.validate().is_ok() {
                for device in [pixel(), iphone()] {
                    prop_assert_ne!(inside.matches(&device), outside.matches(&device));
                }
            }
        }
    }
}
