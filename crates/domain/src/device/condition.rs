//! One typed comparison of a device attribute — the engine shared by device filters
//! and pool rules, which differ only in which operators they allow and in how their
//! values arrive (a list of strings vs. one JSON-encoded string).
//!
//! How values compare (farmhand's decisions where AWS is silent):
//! - `ARN`, `INSTANCE_ARN`: exact, case-sensitive.
//! - `PLATFORM`, `FORM_FACTOR`, `AVAILABILITY`, `FLEET_TYPE`: the model's enum strings,
//!   strictly (`android` is rejected with the list of valid values), as AWS validates
//!   enums.
//! - `REMOTE_ACCESS_ENABLED`, `REMOTE_DEBUG_ENABLED`: `TRUE`/`FALSE` in any letter case,
//!   since AWS's own UpdateDevicePool example sends `"True"`.
//! - `MODEL`, `MANUFACTURER`, `INSTANCE_LABELS`: free text, compared ignoring case.
//!   `MODEL CONTAINS x` is a substring test on the model name; `INSTANCE_LABELS CONTAINS x`
//!   means some instance carries the label `x`.
//! - `OS_VERSION`: numerically by dotted components (see [`OsVersion`]).
//! - Attributes with several values on one device (instance ARNs, labels): `EQUALS`/`IN`
//!   hold when any of them matches, `NOT_IN` when none does, so `IN` and `NOT_IN` are
//!   complements.
//! - `REMOTE_DEBUG_ENABLED` and `APPIUM_VERSION` are validated but match every device:
//!   AWS documents the first as ignored, and the second describes the test run rather
//!   than the device.

use super::attribute::{DeviceAttribute, RuleOperator};
use super::enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType};
use super::model::Device;
use super::os_version::OsVersion;

/// Something wrong with the values given to an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{operator} needs at least one value, but none was given")]
    NoValues { operator: RuleOperator },
    #[error("{operator} needs exactly one value, but {count} were given")]
    NotOneValue { operator: RuleOperator, count: usize },
    #[error("invalid {attribute} value: {reason}")]
    Invalid { attribute: DeviceAttribute, reason: String },
}

/// A value normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    Text(String),
    Version(OsVersion),
}

/// A validated `attribute operator values` test.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    attribute: DeviceAttribute,
    operator: RuleOperator,
    operands: Vec<Operand>,
}

impl Condition {
    /// Checks the number and form of `values`. The caller has already checked that
    /// `operator` is allowed for `attribute`, as that table differs between filters and
    /// rules.
    pub(crate) fn new(
        attribute: DeviceAttribute,
        operator: RuleOperator,
        values: &[String],
    ) -> Result<Self, ValueError> {
        match (operator.takes_value_list(), values.len()) {
            (true, 0) => return Err(ValueError::NoValues { operator }),
            (false, count) if count != 1 => return Err(ValueError::NotOneValue { operator, count }),
            _ => {}
        }
        let operands = values.iter().map(|v| operand(attribute, v)).collect::<Result<Vec<_>, _>>()?;
        Ok(Condition { attribute, operator, operands })
    }

    pub(crate) fn matches(&self, device: &Device) -> bool {
        if matches!(self.attribute, DeviceAttribute::RemoteDebugEnabled | DeviceAttribute::AppiumVersion) {
            return true;
        }
        let actual = device_operands(self.attribute, device);
        let any_in = |wanted: &[Operand]| actual.iter().any(|a| wanted.contains(a));
        match self.operator {
            RuleOperator::Equals | RuleOperator::In => any_in(&self.operands),
            RuleOperator::NotIn => !any_in(&self.operands),
            RuleOperator::Contains => self.contains(&actual),
            RuleOperator::LessThan => self.compare_version(&actual, |o| o.is_lt()),
            RuleOperator::LessThanOrEquals => self.compare_version(&actual, |o| o.is_le()),
            RuleOperator::GreaterThan => self.compare_version(&actual, |o| o.is_gt()),
            RuleOperator::GreaterThanOrEquals => self.compare_version(&actual, |o| o.is_ge()),
        }
    }

    fn contains(&self, actual: &[Operand]) -> bool {
        let Some(Operand::Text(needle)) = self.operands.first() else {
            return false;
        };
        actual.iter().any(|a| match a {
            Operand::Text(text) if self.attribute == DeviceAttribute::Model => text.contains(needle.as_str()),
            Operand::Text(text) => text == needle,
            Operand::Version(_) => false,
        })
    }

    fn compare_version(&self, actual: &[Operand], holds: impl Fn(std::cmp::Ordering) -> bool) -> bool {
        let Some(Operand::Version(bound)) = self.operands.first() else {
            return false;
        };
        actual.iter().any(|a| match a {
            Operand::Version(v) => holds(v.cmp(bound)),
            Operand::Text(_) => false,
        })
    }
}

fn operand(attribute: DeviceAttribute, value: &str) -> Result<Operand, ValueError> {
    let invalid = |reason: String| ValueError::Invalid { attribute, reason };
    let text = |s: &str| Ok(Operand::Text(s.to_owned()));
    match attribute {
        DeviceAttribute::Arn | DeviceAttribute::InstanceArn => text(value),
        DeviceAttribute::Platform => {
            DevicePlatform::parse(value).map_err(|e| invalid(e.to_string())).and_then(|p| text(p.as_str()))
        }
        DeviceAttribute::FormFactor => {
            DeviceFormFactor::parse(value).map_err(|e| invalid(e.to_string())).and_then(|f| text(f.as_str()))
        }
        DeviceAttribute::Availability => {
            DeviceAvailability::parse(value).map_err(|e| invalid(e.to_string())).and_then(|a| text(a.as_str()))
        }
        DeviceAttribute::FleetType => {
            FleetType::parse(value).map_err(|e| invalid(e.to_string())).and_then(|f| text(f.as_str()))
        }
        DeviceAttribute::RemoteAccessEnabled | DeviceAttribute::RemoteDebugEnabled => parse_bool(value)
            .map(|b| Operand::Text(bool_text(b).to_owned()))
            .ok_or_else(|| invalid(format!("`{value}` is not TRUE or FALSE"))),
        DeviceAttribute::Manufacturer
        | DeviceAttribute::Model
        | DeviceAttribute::InstanceLabels
        | DeviceAttribute::AppiumVersion => Ok(Operand::Text(value.to_lowercase())),
        DeviceAttribute::OsVersion => OsVersion::parse(value).map(Operand::Version).map_err(|e| invalid(e.to_string())),
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// The device's values for `attribute`, normalised like [`operand`] normalises a
/// filter value.
fn device_operands(attribute: DeviceAttribute, device: &Device) -> Vec<Operand> {
    let one = |s: &str| vec![Operand::Text(s.to_owned())];
    match attribute {
        DeviceAttribute::Arn => one(&device.arn),
        DeviceAttribute::Platform => one(device.platform.as_str()),
        DeviceAttribute::FormFactor => one(device.form_factor.as_str()),
        DeviceAttribute::Availability => one(device.availability.as_str()),
        DeviceAttribute::FleetType => one(device.fleet_type.as_str()),
        DeviceAttribute::RemoteAccessEnabled => one(bool_text(device.remote_access_enabled)),
        DeviceAttribute::RemoteDebugEnabled => one(bool_text(device.remote_debug_enabled)),
        DeviceAttribute::Manufacturer => one(&device.manufacturer.to_lowercase()),
        DeviceAttribute::Model => one(&device.model.to_lowercase()),
        DeviceAttribute::OsVersion => vec![Operand::Version(device.os.clone())],
        DeviceAttribute::InstanceArn => device.instances.iter().map(|i| Operand::Text(i.arn.clone())).collect(),
        DeviceAttribute::InstanceLabels => {
            device.instances.iter().flat_map(|i| &i.labels).map(|l| Operand::Text(l.to_lowercase())).collect()
        }
        DeviceAttribute::AppiumVersion => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_support::{iphone, pixel};

    fn cond(attribute: DeviceAttribute, operator: RuleOperator, values: &[&str]) -> Condition {
        let values: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        Condition::new(attribute, operator, &values).expect("valid condition")
    }

    use DeviceAttribute as A;
    use RuleOperator as Op;

    #[test]
    fn value_counts_are_checked() {
        assert_eq!(Condition::new(A::Arn, Op::In, &[]).map(|_| ()), Err(ValueError::NoValues { operator: Op::In }));
        let two = vec!["1".to_owned(), "2".to_owned()];
        assert_eq!(
            Condition::new(A::OsVersion, Op::Equals, &two).map(|_| ()),
            Err(ValueError::NotOneValue { operator: Op::Equals, count: 2 })
        );
        assert!(Condition::new(A::OsVersion, Op::In, &two).is_ok());
    }

    #[test]
    fn enum_values_are_strict_but_booleans_ignore_case() {
        let err = Condition::new(A::Platform, Op::Equals, &["android".to_owned()]).map(|_| ());
        assert_eq!(
            err.expect_err("lower case").to_string(),
            "invalid PLATFORM value: `android` is not a valid DevicePlatform; expected one of: ANDROID, IOS"
        );
        assert!(cond(A::RemoteAccessEnabled, Op::Equals, &["True"]).matches(&pixel()));
        assert!(!cond(A::RemoteAccessEnabled, Op::Equals, &["FALSE"]).matches(&pixel()));
        assert!(Condition::new(A::RemoteAccessEnabled, Op::Equals, &["yes".to_owned()]).is_err());
    }

    #[test]
    fn os_version_comparisons_are_numeric() {
        let device = pixel(); // Android 14
        assert!(cond(A::OsVersion, Op::GreaterThan, &["9"]).matches(&device));
        assert!(cond(A::OsVersion, Op::GreaterThanOrEquals, &["14.0"]).matches(&device));
        assert!(cond(A::OsVersion, Op::LessThan, &["14.0.1"]).matches(&device));
        assert!(!cond(A::OsVersion, Op::LessThan, &["14"]).matches(&device));
        assert!(cond(A::OsVersion, Op::LessThanOrEquals, &["14"]).matches(&device));
        assert!(cond(A::OsVersion, Op::Equals, &["14.0"]).matches(&device));
        assert!(cond(A::OsVersion, Op::In, &["13", "14"]).matches(&device));
        assert!(!cond(A::OsVersion, Op::NotIn, &["13", "14"]).matches(&device));
    }

    #[test]
    fn model_contains_is_a_case_insensitive_substring() {
        assert!(cond(A::Model, Op::Contains, &["pixel"]).matches(&pixel()));
        assert!(!cond(A::Model, Op::Contains, &["iphone"]).matches(&pixel()));
        assert!(cond(A::Model, Op::Equals, &["google pixel 8"]).matches(&pixel()));
        assert!(!cond(A::Model, Op::Equals, &["pixel"]).matches(&pixel()));
    }

    #[test]
    fn instance_labels_contains_means_some_instance_has_the_label() {
        // pixel() has instances labelled ["lab-a"] and ["lab-b", "5g"].
        assert!(cond(A::InstanceLabels, Op::Contains, &["5G"]).matches(&pixel()));
        assert!(!cond(A::InstanceLabels, Op::Contains, &["lab"]).matches(&pixel()));
    }

    #[test]
    fn instance_arn_matches_any_instance_and_not_in_none() {
        let device = pixel();
        let second = device.instances[1].arn.clone();
        assert!(cond(A::InstanceArn, Op::Equals, &[&second]).matches(&device));
        assert!(cond(A::InstanceArn, Op::In, &["x", &second]).matches(&device));
        assert!(!cond(A::InstanceArn, Op::NotIn, &[&second]).matches(&device));
        assert!(cond(A::InstanceArn, Op::NotIn, &["x"]).matches(&device));
    }

    #[test]
    fn ignored_attributes_match_everything_once_valid() {
        assert!(cond(A::RemoteDebugEnabled, Op::Equals, &["TRUE"]).matches(&pixel()));
        assert!(cond(A::AppiumVersion, Op::Contains, &["1.22"]).matches(&iphone()));
        assert!(Condition::new(A::RemoteDebugEnabled, Op::Equals, &["maybe".to_owned()]).is_err());
    }

    #[test]
    fn manufacturer_and_platform_sets() {
        assert!(cond(A::Manufacturer, Op::In, &["Apple", "samsung"]).matches(&iphone()));
        assert!(cond(A::Platform, Op::NotIn, &["IOS"]).matches(&pixel()));
        assert!(cond(A::FormFactor, Op::Equals, &["PHONE"]).matches(&pixel()));
        assert!(cond(A::FleetType, Op::Equals, &["PRIVATE"]).matches(&pixel()));
        assert!(cond(A::Availability, Op::Equals, &["AVAILABLE"]).matches(&pixel()));
    }
}
