//! Fleet files for tests, written as TOML and read by the real parser so the devices are
//! exactly what a server would offer.

use domain::device::Fleet;
use std::fmt::Write;

pub const REGION: &str = "us-west-2";

pub struct DeviceSpec {
    pub id: String,
    pub platform: &'static str,
    pub instances: usize,
}

impl DeviceSpec {
    pub fn android(id: &str, instances: usize) -> DeviceSpec {
        DeviceSpec { id: id.to_owned(), platform: "ANDROID", instances }
    }

    pub fn ios(id: &str, instances: usize) -> DeviceSpec {
        DeviceSpec { id: id.to_owned(), platform: "IOS", instances }
    }
}

/// The device's name is its id, so tests find devices by the id they gave.
pub fn fleet_toml(devices: &[DeviceSpec]) -> String {
    let mut toml = String::from("[fleet]\ntype = \"PRIVATE\"\nname = \"Test lab\"\n");
    for d in devices {
        let os = if d.platform == "IOS" { "17.4" } else { "14" };
        let _ = write!(
            toml,
            r#"
[[device]]
id = "{id}"
name = "{id}"
manufacturer = "Test"
model = "{id}"
model_id = "T1"
form_factor = "PHONE"
platform = "{platform}"
os = "{os}"
cpu = {{ frequency = "MHz", architecture = "arm64-v8a", clock = 2000.0 }}
resolution = {{ width = 1080, height = 2400 }}
heap_size = 536870912
memory = 128000000000
"#,
            id = d.id,
            platform = d.platform,
        );
        for i in 0..d.instances {
            let _ = write!(toml, "\n[[device.instance]]\nudid = \"{}-{i}\"\n", d.id.to_uppercase());
        }
    }
    toml
}

pub fn fleet(devices: &[DeviceSpec]) -> Fleet {
    Fleet::from_toml(&fleet_toml(devices), REGION).expect("test fleet parses")
}
