//! A network profile on an Android device: `tc` on the device itself, which needs `adb
//! root` (userdebug and emulator builds). The uplink is netem on the root of the interface
//! the device's route to the internet leaves by; the downlink is netem on an `ifb` device
//! that the interface's ingress is redirected to (netem shapes only what a device sends).
//! Undone after the job, also when setting it up failed halfway.

use domain::network::{LinkShape, NetworkShape};

use super::command::{on_device, Adb};

/// The ifb device farmhand adds for the downlink.
const IFB: &str = "ifb_farmhand";

/// Where a profile was applied on a device, for undoing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapedDevice {
    pub serial: String,
    pub interface: String,
}

/// netem's arguments for one direction. A link of no bandwidth carries nothing.
fn netem(shape: &LinkShape) -> Vec<String> {
    let mut args = vec![
        "netem".to_string(),
        "delay".into(),
        format!("{}ms", shape.delay_ms.max(0)),
        format!("{}ms", shape.jitter_ms.max(0)),
    ];
    if shape.bandwidth_bits <= 0 {
        args.extend(["loss".into(), "100%".into()]);
    } else {
        args.extend([
            "loss".into(),
            format!("{}%", shape.loss_percent),
            "rate".into(),
            format!("{}bit", shape.bandwidth_bits),
        ]);
    }
    args
}

impl Adb {
    /// Applies `profile` on the device; why not when it cannot be (no root, no netem).
    pub async fn shape_network(&self, serial: &str, profile: &NetworkShape) -> Result<ShapedDevice, String> {
        let root = self
            .run(Some(serial), &on_device(serial, &["root"]), self.command_timeout)
            .await
            .map_err(|e| format!("adb root failed: {e}"))?;
        // adbd restarts as root: the device drops off adb for a moment.
        let _ = self.run(Some(serial), &on_device(serial, &["wait-for-device"]), self.boot_timeout).await;
        let uid = self.shell(serial, &["id", "-u"]).await.map_err(|e| e.to_string())?;
        if uid.trim() != "0" {
            return Err(format!("adb root is refused on this device ({})", root.stdout_text().trim()));
        }
        let route = self.shell(serial, &["ip", "route", "get", "1.1.1.1"]).await.map_err(|e| e.to_string())?;
        let interface = route
            .split_whitespace()
            .skip_while(|w| *w != "dev")
            .nth(1)
            .map(str::to_string)
            .ok_or_else(|| format!("the device has no route to the network ({})", route.trim()))?;
        let shaped = ShapedDevice { serial: serial.to_string(), interface };
        if let Err(e) = self.shape(&shaped, profile).await {
            self.unshape_network(&shaped).await;
            return Err(format!("tc on the device refused the profile: {e}"));
        }
        Ok(shaped)
    }

    async fn shape(&self, on: &ShapedDevice, profile: &NetworkShape) -> Result<(), super::AdbError> {
        let dev = on.interface.as_str();
        let up = netem(&profile.uplink);
        let down = netem(&profile.downlink);
        let with = |head: &[&'static str], tail: &[String]| -> Vec<String> {
            head.iter().map(|s| s.to_string()).chain(tail.iter().cloned()).collect()
        };
        let commands: Vec<Vec<String>> = vec![
            with(&["tc", "qdisc", "replace", "dev"], &[dev.to_string(), "root".into()]).into_iter().chain(up).collect(),
            with(&["ip", "link", "add", IFB, "type", "ifb"], &[]),
            with(&["ip", "link", "set", IFB, "up"], &[]),
            with(&["tc", "qdisc", "add", "dev"], &[dev.to_string(), "handle".into(), "ffff:".into(), "ingress".into()]),
            with(&["tc", "filter", "add", "dev"], &[dev.to_string()])
                .into_iter()
                .chain(
                    ["parent", "ffff:", "matchall", "action", "mirred", "egress", "redirect", "dev", IFB]
                        .map(String::from),
                )
                .collect(),
            with(&["tc", "qdisc", "replace", "dev", IFB, "root"], &down),
        ];
        for command in commands {
            let words: Vec<&str> = command.iter().map(String::as_str).collect();
            self.shell(&on.serial, &words).await?;
        }
        Ok(())
    }

    /// Removes what [`Adb::shape_network`] added; each piece may be missing.
    pub async fn unshape_network(&self, on: &ShapedDevice) {
        let dev = on.interface.as_str();
        for command in [
            ["tc", "qdisc", "del", "dev", dev, "root"].as_slice(),
            &["tc", "qdisc", "del", "dev", dev, "ingress"],
            &["ip", "link", "del", IFB],
        ] {
            let _ = self.shell(&on.serial, command).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake_adb::FakeAdb;
    use super::*;

    const SERIAL: &str = "emulator-5554";

    fn profile() -> NetworkShape {
        NetworkShape {
            arn: "arn:aws:devicefarm:us-west-2:111122223333:networkprofile:p/n".into(),
            name: "3G".into(),
            description: None,
            curated: false,
            uplink: LinkShape { bandwidth_bits: 64_000, delay_ms: 150, jitter_ms: 30, loss_percent: 2 },
            downlink: LinkShape { bandwidth_bits: 0, delay_ms: 120, jitter_ms: 20, loss_percent: 1 },
        }
    }

    fn fake() -> FakeAdb {
        let fake = FakeAdb::new();
        fake.set_devices(&format!("{SERIAL} device product:sdk model:sdk device:emu transport_id:1\n"));
        fake
    }

    #[tokio::test]
    async fn a_rooted_device_gets_netem_each_way_and_loses_it_after() {
        let fake = fake();
        let shaped = fake.adb.shape_network(SERIAL, &profile()).await.expect("shaped");
        assert_eq!(shaped.interface, "wlan0");
        fake.adb.unshape_network(&shaped).await;
        let on = |rest: &str| format!("-s {SERIAL} {rest}");
        assert_eq!(
            fake.log(),
            [
                on("root"),
                on("wait-for-device"),
                on("shell id -u"),
                on("shell ip route get 1.1.1.1"),
                on("shell tc qdisc replace dev wlan0 root netem delay 150ms 30ms loss 2% rate 64000bit"),
                on("shell ip link add ifb_farmhand type ifb"),
                on("shell ip link set ifb_farmhand up"),
                on("shell tc qdisc add dev wlan0 handle ffff: ingress"),
                on("shell tc filter add dev wlan0 parent ffff: matchall action mirred egress redirect dev ifb_farmhand"),
                on("shell tc qdisc replace dev ifb_farmhand root netem delay 120ms 20ms loss 100%"),
                on("shell tc qdisc del dev wlan0 root"),
                on("shell tc qdisc del dev wlan0 ingress"),
                on("shell ip link del ifb_farmhand"),
            ]
        );
    }

    #[tokio::test]
    async fn without_root_or_netem_the_profile_is_refused_and_nothing_stays() {
        let fake = fake();
        fake.set_flag("no-root");
        let refused = fake.adb.shape_network(SERIAL, &profile()).await.expect_err("no root");
        assert!(refused.contains("adb root is refused"), "{refused}");
        assert!(!fake.log().iter().any(|l| l.contains(" tc ")), "{:?}", fake.log());

        let fake = self::fake();
        fake.set_flag("no-netem");
        let refused = fake.adb.shape_network(SERIAL, &profile()).await.expect_err("no netem");
        assert!(refused.starts_with("tc on the device refused the profile"), "{refused}");
        assert!(
            fake.log().ends_with(&[
                format!("-s {SERIAL} shell tc qdisc del dev wlan0 root"),
                format!("-s {SERIAL} shell tc qdisc del dev wlan0 ingress"),
                format!("-s {SERIAL} shell ip link del ifb_farmhand")
            ]),
            "{:?}",
            fake.log()
        );
    }
}
