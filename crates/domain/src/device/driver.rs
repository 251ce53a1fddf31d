//! How a fleet device runs jobs. The fleet file chooses per device; the API never shows it
//! (a Device Farm client sees only devices), the engine dispatches on it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// Jobs follow their scenario (`farmhand-sim.yaml`) on a simulated clock.
    #[default]
    Simulated,
    /// The host runs the test spec itself, with no device attached (web tests, trying
    /// farmhand without a phone).
    Host,
    /// An Android device attached to the host, driven through `adb`.
    Adb,
    /// A simulated device on a device host: the host plays the job's scenario in real time
    /// (scaled like the service clock) and reports it as it would a real run, so a farm's
    /// hosts, failover and load can be exercised without phones. A fleet file on an agent
    /// says `simulated`; the host makes it this.
    Scripted,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Simulated => "simulated",
            Driver::Host => "host",
            Driver::Adb => "adb",
            Driver::Scripted => "scripted",
        }
    }

    pub fn parse(text: &str) -> Option<Driver> {
        [Driver::Simulated, Driver::Host, Driver::Adb, Driver::Scripted].into_iter().find(|d| d.as_str() == text)
    }

    /// Whether jobs on it run on a device host, which reports what happens, rather than
    /// following a timeline in the control plane.
    pub fn is_real(self) -> bool {
        self != Driver::Simulated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Fleet;

    fn fleet(driver_line: &str) -> Result<Fleet, crate::device::FleetError> {
        Fleet::from_toml(
            &format!(
                r#"
                [[device]]
                id = "runner"
                name = "Build host"
                manufacturer = "Farmhand"
                model = "Host"
                model_id = "host"
                form_factor = "PHONE"
                platform = "ANDROID"
                os = "14"
                cpu = {{ frequency = "MHz", architecture = "x86_64", clock = 3000.0 }}
                resolution = {{ width = 1080, height = 2400 }}
                heap_size = 536870912
                memory = 8000000000
                {driver_line}

                [[device.instance]]
                udid = "host-1"
                "#
            ),
            "us-west-2",
        )
    }

    #[test]
    fn the_fleet_file_chooses_each_devices_driver() {
        let host = fleet("driver = \"host\"").expect("valid fleet");
        let arn = host.devices()[0].arn.clone();
        assert_eq!(host.driver(&arn), Driver::Host);
        let simulated = fleet("").expect("valid fleet");
        assert_eq!(simulated.driver(&arn), Driver::Simulated);
        let err = fleet("driver = \"ssh\"").expect_err("unknown driver");
        assert!(err.to_string().contains("`ssh` is not a driver"), "{err}");
        assert!(Fleet::demo("us-west-2").devices().iter().all(|d| !Fleet::demo("us-west-2").driver(&d.arn).is_real()));
    }
}
