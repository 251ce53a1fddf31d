//! `farmhand devices`: the fleet as the caller's account sees it (ListDevices, every page),
//! so instance labels and availability are the account's view, not the operator's.

use crate::client::Client;
use crate::output::Format;
use anyhow::{Context, Result};
use protocol::model::{Device, Operation};
use serde_json::{json, Value};
use std::io::Write;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Platform {
    #[value(name = "ANDROID")]
    Android,
    #[value(name = "IOS")]
    Ios,
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Only the devices of this platform.
    #[arg(long, value_enum, ignore_case = true)]
    pub platform: Option<Platform>,
    /// table: a row per device; json: the devices exactly as ListDevices answered them.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// The Device Farm endpoint; default AWS_ENDPOINT_URL_DEVICE_FARM, then AWS_ENDPOINT_URL.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

fn request(platform: Option<Platform>) -> Value {
    match platform {
        None => json!({}),
        Some(p) => {
            let value = match p {
                Platform::Android => "ANDROID",
                Platform::Ios => "IOS",
            };
            json!({ "filters": [{ "attribute": "PLATFORM", "operator": "EQUALS", "values": [value] }] })
        }
    }
}

fn write_table(out: &mut impl Write, devices: &[Device]) -> Result<()> {
    writeln!(
        out,
        "{:<32} {:<8} {:<8} {:<7} {:<23} {:<20} INSTANCES",
        "NAME", "PLATFORM", "OS", "FORM", "AVAILABILITY", "FLEET"
    )?;
    for d in devices {
        let instances = d.instances.as_deref().unwrap_or_default();
        writeln!(
            out,
            "{:<32} {:<8} {:<8} {:<7} {:<23} {:<20} {}",
            d.name.as_deref().unwrap_or("?"),
            d.platform.map_or("-", |p| p.as_str()),
            d.os.as_deref().unwrap_or("-"),
            d.form_factor.map_or("-", |f| f.as_str()),
            d.availability.map_or("-", |a| a.as_str()),
            d.fleet_name.as_deref().or(d.fleet_type.as_deref()).unwrap_or("-"),
            instances.len()
        )?;
    }
    Ok(())
}

pub async fn run(args: DevicesArgs) -> Result<()> {
    let client = Client::from_env(args.endpoint_url, None)?;
    let devices = client.list_all(Operation::ListDevices, request(args.platform), "devices").await?;
    match args.output {
        Format::Json => crate::output::print_json(&Value::Array(devices)),
        Format::Table => {
            let typed: Vec<Device> = devices
                .into_iter()
                .map(|d| serde_json::from_value(d).context("reading a device of ListDevices"))
                .collect::<Result<_>>()?;
            write_table(&mut std::io::stdout().lock(), &typed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::model::{DeviceAvailability, DeviceFormFactor, DeviceInstance, DevicePlatform};

    #[test]
    fn a_row_per_device() {
        let device = Device {
            name: Some("Google Pixel 8".into()),
            platform: Some(DevicePlatform::Android),
            os: Some("14".into()),
            form_factor: Some(DeviceFormFactor::Phone),
            availability: Some(DeviceAvailability::Available),
            fleet_type: Some("PUBLIC".into()),
            instances: Some(vec![DeviceInstance::default(), DeviceInstance::default()]),
            ..Device::default()
        };
        let mut out = Vec::new();
        write_table(&mut out, &[device]).expect("written");
        let text = String::from_utf8(out).expect("utf8");
        let row: Vec<&str> = text.lines().nth(1).expect("a row").split_whitespace().collect();
        assert_eq!(row, ["Google", "Pixel", "8", "ANDROID", "14", "PHONE", "AVAILABLE", "PUBLIC", "2"]);
    }

    #[test]
    fn the_platform_becomes_a_filter() {
        assert_eq!(request(None), json!({}));
        assert_eq!(request(Some(Platform::Ios))["filters"][0]["values"], json!(["IOS"]));
    }
}
