//! Device filters: ListDevices `filters` and ScheduleRun
//! `deviceSelectionConfiguration.filters`. A list of filters is ANDed.
//!
//! The allowed operators per attribute are those of the model's `DeviceFilter` docs
//! ([`DeviceFilterAttribute::supported_operators`]); value comparison is described in
//! [`super::condition`].

use serde::{Deserialize, Serialize};

use super::attribute::{DeviceFilterAttribute, RuleOperator};
use super::condition::{Condition, ValueError};
use super::model::Device;
use super::wire_enum::join;

/// `DeviceFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceFilter {
    pub attribute: DeviceFilterAttribute,
    pub operator: RuleOperator,
    pub values: Vec<String>,
}

/// Why a filter is invalid. The Display text is meant for an `ArgumentException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "Invalid device filter: attribute {attribute} does not support operator {operator} (supported: {})",
        join(attribute.supported_operators())
    )]
    UnsupportedOperator { attribute: DeviceFilterAttribute, operator: RuleOperator },
    #[error("Invalid device filter {attribute} {operator}: {problem}")]
    Value { attribute: DeviceFilterAttribute, operator: RuleOperator, problem: ValueError },
}

impl DeviceFilter {
    pub fn new(attribute: DeviceFilterAttribute, operator: RuleOperator, values: Vec<String>) -> Self {
        DeviceFilter { attribute, operator, values }
    }

    pub fn validate(&self) -> Result<(), FilterError> {
        self.condition().map(|_| ())
    }

    /// Whether `device` passes this filter. An invalid filter matches nothing; callers
    /// validate first and report the error.
    pub fn matches(&self, device: &Device) -> bool {
        self.condition().is_ok_and(|c| c.matches(device))
    }

    fn condition(&self) -> Result<Condition, FilterError> {
        if !self.attribute.supported_operators().contains(&self.operator) {
            return Err(FilterError::UnsupportedOperator { attribute: self.attribute, operator: self.operator });
        }
        Condition::new(self.attribute.as_device_attribute(), self.operator, &self.values)
            .map_err(|problem| FilterError::Value { attribute: self.attribute, operator: self.operator, problem })
    }
}

/// Validates every filter, reporting the first invalid one.
pub fn validate_filters(filters: &[DeviceFilter]) -> Result<(), FilterError> {
    filters.iter().try_for_each(DeviceFilter::validate)
}

/// Whether `device` passes every filter (an empty list passes every device).
pub fn matches_all(filters: &[DeviceFilter], device: &Device) -> bool {
    filters.iter().all(|f| f.matches(device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::test_support::{iphone, pixel};
    use proptest::prelude::*;
    use DeviceFilterAttribute as A;
    use RuleOperator as Op;

    fn filter(attribute: A, operator: Op, values: &[&str]) -> DeviceFilter {
        DeviceFilter::new(attribute, operator, values.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn unsupported_operator_is_explained() {
        let err = filter(A::Platform, Op::In, &["ANDROID"]).validate().expect_err("PLATFORM IN");
        assert_eq!(
            err.to_string(),
            "Invalid device filter: attribute PLATFORM does not support operator IN (supported: EQUALS)"
        );
        assert!(filter(A::InstanceLabels, Op::Equals, &["x"]).validate().is_err());
        assert!(filter(A::Manufacturer, Op::GreaterThan, &["x"]).validate().is_err());
    }

    #[test]
    fn value_problems_name_the_filter() {
        let err = filter(A::OsVersion, Op::Equals, &["13", "14"]).validate().expect_err("two values");
        assert_eq!(
            err.to_string(),
            "Invalid device filter OS_VERSION EQUALS: EQUALS needs exactly one value, but 2 were given"
        );
        let err = filter(A::Arn, Op::NotIn, &[]).validate().expect_err("no values");
        assert_eq!(
            err.to_string(),
            "Invalid device filter ARN NOT_IN: NOT_IN needs at least one value, but none was given"
        );
        let err = filter(A::OsVersion, Op::LessThan, &["fourteen"]).validate().expect_err("not a version");
        assert!(err.to_string().contains("`fourteen` is not an OS version"), "{err}");
    }

    #[test]
    fn invalid_filter_matches_nothing() {
        assert!(!filter(A::Platform, Op::Equals, &["android"]).matches(&pixel()));
    }

    #[test]
    fn filters_are_anded() {
        let android_phone =
            [filter(A::Platform, Op::Equals, &["ANDROID"]), filter(A::FormFactor, Op::Equals, &["PHONE"])];
        assert!(matches_all(&android_phone, &pixel()));
        assert!(!matches_all(&android_phone, &iphone()));
        let contradictory =
            [filter(A::Platform, Op::Equals, &["ANDROID"]), filter(A::Manufacturer, Op::Equals, &["Apple"])];
        assert!(!matches_all(&contradictory, &pixel()));
        assert!(matches_all(&[], &iphone()));
        assert!(validate_filters(&android_phone).is_ok());
        assert!(validate_filters(&[filter(A::FleetType, Op::Equals, &["OWN"])]).is_err());
    }

    #[test]
    fn every_filter_attribute_has_a_working_equals_or_contains() {
        let device = pixel();
        let cases = [
            filter(A::Arn, Op::Equals, &[&device.arn]),
            filter(A::Platform, Op::Equals, &["ANDROID"]),
            filter(A::OsVersion, Op::Equals, &["14"]),
            filter(A::Model, Op::Contains, &["Pixel"]),
            filter(A::Availability, Op::Equals, &["AVAILABLE"]),
            filter(A::FormFactor, Op::Equals, &["PHONE"]),
            filter(A::Manufacturer, Op::Equals, &["Google"]),
            filter(A::RemoteAccessEnabled, Op::Equals, &["TRUE"]),
            filter(A::RemoteDebugEnabled, Op::Equals, &["TRUE"]),
            filter(A::InstanceArn, Op::Equals, &[&device.instances[0].arn]),
            filter(A::InstanceLabels, Op::Contains, &["lab-a"]),
            filter(A::FleetType, Op::Equals, &["PRIVATE"]),
        ];
        assert_eq!(cases.len(), A::ALL.len());
        for f in &cases {
            assert!(f.matches(&device), "{f:?}");
        }
        // ...and each rejects the iPhone, but for the ignored REMOTE_DEBUG_ENABLED and
        // FORM_FACTOR (both are phones).
        for f in cases.iter().filter(|f| !matches!(f.attribute, A::RemoteDebugEnabled | A::FormFactor)) {
            assert!(!f.matches(&iphone()), "{f:?}");
        }
    }

    fn any_attribute() -> impl Strategy<Value = A> {
        prop::sample::select(A::ALL.to_vec())
    }

    fn any_operator() -> impl Strategy<Value = Op> {
        prop::sample::select(RuleOperator::ALL.to_vec())
    }

    fn plausible_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("ANDROID".to_owned()),
            Just("TRUE".to_owned()),
            Just("14".to_owned()),
            Just("17.4".to_owned()),
            Just("Google".to_owned()),
            Just("lab-a".to_owned()),
            Just("arn:aws:devicefarm:us-west-2::device:11111111111111111111111111111111".to_owned()),
            Just("arn:aws:devicefarm:us-west-2::deviceinstance:00000000-0000-0000-0000-000000000002".to_owned()),
            "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}",
            ".{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn validation_and_matching_never_panic(
            attribute in any_attribute(),
            operator in any_operator(),
            values in prop::collection::vec(".{0,16}", 0..4),
        ) {
            let f = DeviceFilter::new(attribute, operator, values);
            let valid = f.validate().is_ok();
            let matched = f.matches(&pixel()) || f.matches(&iphone());
            prop_assert!(valid || !matched);
        }

        #[test]
        fn in_and_not_in_are_complements(
            attribute in prop::sample::select(vec![A::Arn, A::OsVersion, A::Model, A::Manufacturer, A::InstanceArn]),
            values in prop::collection::vec(plausible_value(), 1..4),
        ) {
            let inside = DeviceFilter::new(attribute, Op::In, values.clone());
            let outside = DeviceFilter::new(attribute, Op::NotIn, values);
            if inside.validate().is_ok() {
                prop_assert!(outside.validate().is_ok());
                for device in [pixel(), iphone()] {
                    prop_assert_ne!(inside.matches(&device), outside.matches(&device));
                }
            }
        }
    }
}
