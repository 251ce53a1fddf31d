//! Choosing the devices of a run: a device pool's rules or ScheduleRun's
//! `deviceSelectionConfiguration` (filters), capped by `maxDevices`.
//!
//! AWS says only that it "adds devices that are available and meet the criteria", so
//! farmhand ranks the matching devices deterministically and keeps the first
//! `max_devices`: most available first (HIGHLY_AVAILABLE, AVAILABLE, BUSY,
//! TEMPORARY_NOT_AVAILABLE), then by name, then by ARN. The result is always in that
//! order, capped or not, so the same fleet and rules give the same jobs in the same
//! order.

use std::cmp::Reverse;

use super::filter::{matches_all, DeviceFilter};
use super::model::Device;
use super::rule::{matches_all_rules, Rule};

/// The devices satisfying every rule, ranked, at most `max_devices` of them.
pub fn select_by_rules<'a>(
    devices: impl IntoIterator<Item = &'a Device>,
    rules: &[Rule],
    max_devices: Option<usize>,
) -> Vec<&'a Device> {
    rank_and_cap(devices.into_iter().filter(|d| matches_all_rules(rules, d)), max_devices)
}

/// The devices passing every filter, ranked, at most `max_devices` of them.
pub fn select_by_filters<'a>(
    devices: impl IntoIterator<Item = &'a Device>,
    filters: &[DeviceFilter],
    max_devices: Option<usize>,
) -> Vec<&'a Device> {
    rank_and_cap(devices.into_iter().filter(|d| matches_all(filters, d)), max_devices)
}

fn rank_and_cap<'a>(devices: impl Iterator<Item = &'a Device>, max_devices: Option<usize>) -> Vec<&'a Device> {
    let mut chosen: Vec<&Device> = devices.collect();
    chosen.sort_by(|a, b| {
        (Reverse(a.availability.preference()), &a.name, &a.arn).cmp(&(
            Reverse(b.availability.preference()),
            &b.name,
            &b.arn,
        ))
    });
    if let Some(max) = max_devices {
        chosen.truncate(max);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::attribute::{DeviceAttribute, DeviceFilterAttribute, RuleOperator};
    use crate::device::enums::{DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType};
    use crate::device::test_support::{device, iphone, pixel};

    fn fleet() -> Vec<Device> {
        let busy = device(
            "33333333333333333333333333333333",
            "Samsung Galaxy A12",
            "Samsung",
            DevicePlatform::Android,
            DeviceFormFactor::Phone,
            "10",
            DeviceAvailability::Busy,
            FleetType::Public,
        );
        let tablet = device(
            "44444444444444444444444444444444",
            "Samsung Galaxy Tab S9",
            "Samsung",
            DevicePlatform::Android,
            DeviceFormFactor::Tablet,
            "14",
            DeviceAvailability::Available,
            FleetType::Public,
        );
        vec![busy, pixel(), iphone(), tablet]
    }

    fn names(devices: &[&Device]) -> Vec<String> {
        devices.iter().map(|d| d.name.clone()).collect()
    }

    #[test]
    fn ranks_by_availability_then_name() {
        let fleet = fleet();
        assert_eq!(
            names(&select_by_rules(&fleet, &[], None)),
            [
                "Apple iPhone 15",       // HIGHLY_AVAILABLE
                "Google Pixel 8",        // AVAILABLE
                "Samsung Galaxy Tab S9", // AVAILABLE
                "Samsung Galaxy A12",    // BUSY
            ]
        );
    }

    #[test]
    fn max_devices_keeps_the_best_ranked() {
        let fleet = fleet();
        let android = [Rule::encoded(DeviceAttribute::Platform, RuleOperator::Equals, &["ANDROID"])];
        assert_eq!(names(&select_by_rules(&fleet, &android, Some(2))), ["Google Pixel 8", "Samsung Galaxy Tab S9"]);
        assert!(select_by_rules(&fleet, &android, Some(0)).is_empty());
    }

    #[test]
    fn filters_select_the_same_way() {
        let fleet = fleet();
        let samsung =
            [DeviceFilter::new(DeviceFilterAttribute::Manufacturer, RuleOperator::Equals, vec!["Samsung".to_owned()])];
        assert_eq!(
            names(&select_by_filters(&fleet, &samsung, Some(5))),
            ["Samsung Galaxy Tab S9", "Samsung Galaxy A12"]
        );
    }
}
