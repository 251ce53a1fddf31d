//! The attributes that filters and pool rules test, their operators, and which
//! operator each attribute allows.
//!
//! Filters (`DeviceFilterAttribute`) and pool rules (`DeviceAttribute`) allow different
//! operators for the same attribute — e.g. a rule may use `IN` on `PLATFORM`, a filter
//! may not — so each keeps its own table, copied from the model's documentation of
//! `DeviceFilter.attribute` and `Rule.attribute`.

use super::wire_enum::wire_enum;

wire_enum! {
    /// `RuleOperator`, shared by filters and pool rules.
    RuleOperator as "RuleOperator" {
        Equals = "EQUALS",
        LessThan = "LESS_THAN",
        LessThanOrEquals = "LESS_THAN_OR_EQUALS",
        GreaterThan = "GREATER_THAN",
        GreaterThanOrEquals = "GREATER_THAN_OR_EQUALS",
        In = "IN",
        NotIn = "NOT_IN",
        Contains = "CONTAINS",
    }
}

impl RuleOperator {
    /// `IN`/`NOT_IN` take one or more values; every other operator exactly one.
    pub const fn takes_value_list(self) -> bool {
        matches!(self, RuleOperator::In | RuleOperator::NotIn)
    }
}

wire_enum! {
    /// `DeviceAttribute`: what a pool rule tests, and the `type` of an
    /// `IncompatibilityMessage`.
    DeviceAttribute as "DeviceAttribute" {
        Arn = "ARN",
        Platform = "PLATFORM",
        FormFactor = "FORM_FACTOR",
        Manufacturer = "MANUFACTURER",
        RemoteAccessEnabled = "REMOTE_ACCESS_ENABLED",
        RemoteDebugEnabled = "REMOTE_DEBUG_ENABLED",
        AppiumVersion = "APPIUM_VERSION",
        InstanceArn = "INSTANCE_ARN",
        InstanceLabels = "INSTANCE_LABELS",
        FleetType = "FLEET_TYPE",
        OsVersion = "OS_VERSION",
        Model = "MODEL",
        Availability = "AVAILABILITY",
    }
}

wire_enum! {
    /// `DeviceFilterAttribute`: what a device filter (ListDevices, ScheduleRun's
    /// `deviceSelectionConfiguration`) tests.
    DeviceFilterAttribute as "DeviceFilterAttribute" {
        Arn = "ARN",
        Platform = "PLATFORM",
        OsVersion = "OS_VERSION",
        Model = "MODEL",
        Availability = "AVAILABILITY",
        FormFactor = "FORM_FACTOR",
        Manufacturer = "MANUFACTURER",
        RemoteAccessEnabled = "REMOTE_ACCESS_ENABLED",
        RemoteDebugEnabled = "REMOTE_DEBUG_ENABLED",
        InstanceArn = "INSTANCE_ARN",
        InstanceLabels = "INSTANCE_LABELS",
        FleetType = "FLEET_TYPE",
    }
}

use RuleOperator as Op;

const EQUALS: &[RuleOperator] = &[Op::Equals];
const CONTAINS: &[RuleOperator] = &[Op::Contains];
const EQUALS_IN: &[RuleOperator] = &[Op::Equals, Op::In, Op::NotIn];
const IN_ONLY: &[RuleOperator] = &[Op::In, Op::NotIn];
const MODEL_OPS: &[RuleOperator] = &[Op::Contains, Op::Equals, Op::In, Op::NotIn];
const VERSION_OPS: &[RuleOperator] =
    &[Op::Equals, Op::GreaterThan, Op::GreaterThanOrEquals, Op::In, Op::LessThan, Op::LessThanOrEquals, Op::NotIn];

impl DeviceAttribute {
    /// The operators a pool rule may use with this attribute (the `Rule` docs).
    pub const fn rule_operators(self) -> &'static [RuleOperator] {
        match self {
            DeviceAttribute::AppiumVersion | DeviceAttribute::InstanceLabels => CONTAINS,
            DeviceAttribute::Arn
            | DeviceAttribute::FormFactor
            | DeviceAttribute::Manufacturer
            | DeviceAttribute::Platform => EQUALS_IN,
            DeviceAttribute::Availability
            | DeviceAttribute::FleetType
            | DeviceAttribute::RemoteAccessEnabled
            | DeviceAttribute::RemoteDebugEnabled => EQUALS,
            DeviceAttribute::InstanceArn => IN_ONLY,
            DeviceAttribute::Model => MODEL_OPS,
            DeviceAttribute::OsVersion => VERSION_OPS,
        }
    }
}

impl DeviceFilterAttribute {
    /// The operators a device filter may use with this attribute (the
    /// `DeviceFilter` docs).
    pub const fn supported_operators(self) -> &'static [RuleOperator] {
        match self {
            DeviceFilterAttribute::Arn | DeviceFilterAttribute::Manufacturer | DeviceFilterAttribute::InstanceArn => {
                EQUALS_IN
            }
            DeviceFilterAttribute::Platform
            | DeviceFilterAttribute::Availability
            | DeviceFilterAttribute::FormFactor
            | DeviceFilterAttribute::RemoteAccessEnabled
            | DeviceFilterAttribute::RemoteDebugEnabled
            | DeviceFilterAttribute::FleetType => EQUALS,
            DeviceFilterAttribute::OsVersion => VERSION_OPS,
            DeviceFilterAttribute::Model => MODEL_OPS,
            DeviceFilterAttribute::InstanceLabels => CONTAINS,
        }
    }

    /// The same attribute as a rule attribute; every filter attribute is one.
    pub const fn as_device_attribute(self) -> DeviceAttribute {
        match self {
            DeviceFilterAttribute::Arn => DeviceAttribute::Arn,
            DeviceFilterAttribute::Platform => DeviceAttribute::Platform,
            DeviceFilterAttribute::OsVersion => DeviceAttribute::OsVersion,
            DeviceFilterAttribute::Model => DeviceAttribute::Model,
            DeviceFilterAttribute::Availability => DeviceAttribute::Availability,
            DeviceFilterAttribute::FormFactor => DeviceAttribute::FormFactor,
            DeviceFilterAttribute::Manufacturer => DeviceAttribute::Manufacturer,
            DeviceFilterAttribute::RemoteAccessEnabled => DeviceAttribute::RemoteAccessEnabled,
            DeviceFilterAttribute::RemoteDebugEnabled => DeviceAttribute::RemoteDebugEnabled,
            DeviceFilterAttribute::InstanceArn => DeviceAttribute::InstanceArn,
            DeviceFilterAttribute::InstanceLabels => DeviceAttribute::InstanceLabels,
            DeviceFilterAttribute::FleetType => DeviceAttribute::FleetType,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_operator_table_follows_the_list_devices_summary() {
        // The ListDevices docs summarise the table: EQUALS for all but
        // INSTANCE_LABELS; CONTAINS for INSTANCE_LABELS and MODEL; IN/NOT_IN for ARN,
        // OS_VERSION, MODEL, MANUFACTURER, INSTANCE_ARN; ordering for OS_VERSION only.
        use DeviceFilterAttribute as A;
        for a in A::ALL {
            let ops = a.supported_operators();
            assert_eq!(ops.contains(&Op::Equals), *a != A::InstanceLabels, "{a}");
            assert_eq!(ops.contains(&Op::Contains), matches!(a, A::InstanceLabels | A::Model), "{a}");
            let in_attrs = [A::Arn, A::OsVersion, A::Model, A::Manufacturer, A::InstanceArn];
            assert_eq!(ops.contains(&Op::In), in_attrs.contains(a), "{a}");
            assert_eq!(ops.contains(&Op::NotIn), in_attrs.contains(a), "{a}");
            for ordering in [Op::LessThan, Op::LessThanOrEquals, Op::GreaterThan, Op::GreaterThanOrEquals] {
                assert_eq!(ops.contains(&ordering), *a == A::OsVersion, "{a} {ordering}");
            }
        }
    }

    #[test]
    fn rules_allow_more_than_filters_for_platform_and_form_factor() {
        assert!(DeviceAttribute::Platform.rule_operators().contains(&Op::In));
        assert!(!DeviceFilterAttribute::Platform.supported_operators().contains(&Op::In));
        assert!(DeviceAttribute::FormFactor.rule_operators().contains(&Op::NotIn));
        // ...and less for INSTANCE_ARN, where a rule has no EQUALS.
        assert!(!DeviceAttribute::InstanceArn.rule_operators().contains(&Op::Equals));
        assert_eq!(DeviceAttribute::AppiumVersion.rule_operators(), &[Op::Contains]);
    }

    #[test]
    fn filter_attributes_map_to_the_rule_attribute_of_the_same_name() {
        for a in DeviceFilterAttribute::ALL {
            assert_eq!(a.as_device_attribute().as_str(), a.as_str());
        }
    }

    #[test]
    fn only_in_and_not_in_take_lists() {
        let list_ops: Vec<_> = RuleOperator::ALL.iter().filter(|o| o.takes_value_list()).collect();
        assert_eq!(list_ops, [&Op::In, &Op::NotIn]);
    }
}
