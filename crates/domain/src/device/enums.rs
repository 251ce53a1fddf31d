//! The model's enums that describe a device and its instances.

use super::wire_enum::wire_enum;

wire_enum! {
    /// `DevicePlatform`.
    DevicePlatform as "DevicePlatform" {
        Android = "ANDROID",
        Ios = "IOS",
    }
}

impl DevicePlatform {
    /// The human spelling, as in `DEVICEFARM_DEVICE_PLATFORM_NAME` and messages.
    pub const fn display_name(self) -> &'static str {
        match self {
            DevicePlatform::Android => "Android",
            DevicePlatform::Ios => "iOS",
        }
    }
}

wire_enum! {
    /// `DeviceFormFactor`.
    DeviceFormFactor as "DeviceFormFactor" {
        Phone = "PHONE",
        Tablet = "TABLET",
    }
}

wire_enum! {
    /// `DeviceAvailability`: how likely the device is to be free for a run.
    DeviceAvailability as "DeviceAvailability" {
        TemporaryNotAvailable = "TEMPORARY_NOT_AVAILABLE",
        Busy = "BUSY",
        Available = "AVAILABLE",
        HighlyAvailable = "HIGHLY_AVAILABLE",
    }
}

impl DeviceAvailability {
    /// Higher is more likely to run soon; device selection prefers higher.
    pub const fn preference(self) -> u8 {
        match self {
            DeviceAvailability::HighlyAvailable => 3,
            DeviceAvailability::Available => 2,
            DeviceAvailability::Busy => 1,
            DeviceAvailability::TemporaryNotAvailable => 0,
        }
    }
}

wire_enum! {
    /// `InstanceStatus`.
    InstanceStatus as "InstanceStatus" {
        InUse = "IN_USE",
        Preparing = "PREPARING",
        Available = "AVAILABLE",
        NotAvailable = "NOT_AVAILABLE",
    }
}

wire_enum! {
    /// The device's `fleetType`. The model types it as a plain string but documents
    /// exactly these two values, and filters/rules compare against them.
    FleetType as "FleetType" {
        Public = "PUBLIC",
        Private = "PRIVATE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_and_parse_round_trip_and_match_serde() {
        for p in DevicePlatform::ALL {
            assert_eq!(DevicePlatform::parse(p.as_str()), Ok(*p));
            let json = serde_json::to_string(p).expect("serialize");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        for a in DeviceAvailability::ALL {
            assert_eq!(a.as_str().parse::<DeviceAvailability>(), Ok(*a));
        }
        for s in InstanceStatus::ALL {
            assert_eq!(InstanceStatus::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(DeviceFormFactor::Tablet.as_str(), "TABLET");
        assert_eq!(FleetType::Private.to_string(), "PRIVATE");
    }

    #[test]
    fn parsing_is_case_sensitive_and_lists_the_allowed_values() {
        let err = DevicePlatform::parse("android").expect_err("lower case is not the wire value");
        assert_eq!(err.to_string(), "`android` is not a valid DevicePlatform; expected one of: ANDROID, IOS");
    }

    #[test]
    fn availability_preference_orders_most_available_first() {
        let mut all = DeviceAvailability::ALL.to_vec();
        all.sort_by_key(|a| std::cmp::Reverse(a.preference()));
        assert_eq!(
            all,
            [
                DeviceAvailability::HighlyAvailable,
                DeviceAvailability::Available,
                DeviceAvailability::Busy,
                DeviceAvailability::TemporaryNotAvailable
            ]
        );
    }
}
