//! The driver against the stand-in `adb` of [`super::fake_adb`]: the commands issued,
//! their order, and what comes back.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use domain::device::ids::{device_arn, device_arn_id, device_instance_arn};
use domain::device::{
    DeviceAvailability, DeviceFormFactor, DevicePlatform, FleetType, InstanceProfile, InstanceStatus, Resolution,
};

use super::fake_adb::FakeAdb;
use super::*;

const PIXEL: &str = "38181FDJH000AB";
const TABLET: &str = "R52W70ABCDE";
const LOCKED: &str = "R58M123ABC";

const PIXEL_PROPS: &str = "[dalvik.vm.heapsize]: [512m]\n\
    [gsm.operator.alpha]: [,T-Mobile]\n\
    [ro.build.characteristics]: [nosdcard]\n\
    [ro.build.id]: [AP2A.240805.005]\n\
    [ro.build.version.release]: [14]\n\
    [ro.build.version.sdk]: [34]\n\
    [ro.product.cpu.abi]: [arm64-v8a]\n\
    [ro.product.manufacturer]: [Google]\n\
    [ro.product.model]: [Pixel 8]\n";

const TABLET_PROPS: &str = "[ro.build.characteristics]: [tablet,nosdcard]\r\n\
    [ro.build.version.release]: [VanillaIceCream]\r\n\
    [ro.build.version.sdk]: [35]\r\n\
    [ro.product.cpu.abi]: [x86_64]\r\n\
    [ro.product.manufacturer]: [samsung]\r\n\
    [ro.product.model]: [SM-X710]\r\n";

const BASE_PACKAGES: &[&str] = &["com.android.chrome", "com.google.android.gms"];

fn fake_with_devices() -> FakeAdb {
    let fake = FakeAdb::new();
    fake.set_devices(&format!(
        "{PIXEL}         device usb:1-1 product:shiba model:Pixel_8 device:shiba transport_id:3\n\
         {LOCKED}             unauthorized usb:1-2 transport_id:4\n\
         {TABLET}            device usb:1-3 product:gts9wifi model:SM_X710 device:gts9 transport_id:5\n"
    ));
    fake.describe(
        PIXEL,
        PIXEL_PROPS,
        "Physical size: 1080x2400\n",
        "MemTotal:        7842104 kB\nMemFree:  1 kB\n",
        BASE_PACKAGES,
    );
    fake.describe(
        TABLET,
        TABLET_PROPS,
        "Physical size: 1600x2560\r\nOverride size: 1200x1920\r\n",
        "MemTotal:       11534336 kB\r\n",
        BASE_PACKAGES,
    );
    fake
}

fn profile(cleanup: bool, exclude: &[&str], reboot: bool) -> InstanceProfile {
    InstanceProfile {
        arn: "arn:aws:devicefarm:us-west-2:123456789012:instanceprofile:p".to_owned(),
        package_cleanup: cleanup,
        exclude_app_packages_from_cleanup: exclude.iter().map(|s| (*s).to_owned()).collect(),
        reboot_after_use: reboot,
        name: "clean".to_owned(),
        description: None,
    }
}

#[tokio::test]
async fn discovery_lists_every_device_and_describes_the_usable_ones() {
    let fake = fake_with_devices();
    let devices = fake.adb.discover().await.expect("discovery");
    assert_eq!(
        fake.log(),
        [
            "devices -l".to_owned(),
            format!("-s {PIXEL} shell getprop"),
            format!("-s {PIXEL} shell wm size"),
            format!("-s {PIXEL} shell cat /proc/meminfo"),
            format!("-s {TABLET} shell getprop"),
            format!("-s {TABLET} shell wm size"),
            format!("-s {TABLET} shell cat /proc/meminfo"),
        ]
    );
    assert_eq!(devices.len(), 3);
    assert_eq!(
        devices[0],
        AttachedDevice {
            serial: PIXEL.to_owned(),
            state: DeviceState::Device,
            model: Some("Pixel 8".to_owned()),
            manufacturer: Some("Google".to_owned()),
            os_version: Some("14".to_owned()),
            sdk: Some(34),
            abi: Some("arm64-v8a".to_owned()),
            resolution: Some(Resolution { width: 1080, height: 2400 }),
            memory_bytes: Some(7_842_104 * 1024),
            heap_size_bytes: Some(512 << 20),
            build_id: Some("AP2A.240805.005".to_owned()),
            form_factor: DeviceFormFactor::Phone,
            carrier: Some("T-Mobile".to_owned()),
        }
    );
    let locked = &devices[1];
    assert_eq!(locked.state, DeviceState::Unauthorized);
    assert_eq!((locked.model.as_ref(), locked.os_version.as_ref()), (None, None));
    let tablet = &devices[2];
    assert_eq!(tablet.form_factor, DeviceFormFactor::Tablet);
    assert_eq!(tablet.model.as_deref(), Some("SM-X710"));
    assert_eq!(tablet.resolution, Some(Resolution { width: 1600, height: 2560 }));
}

#[tokio::test]
async fn a_device_that_leaves_during_discovery_is_listed_from_adb_devices_alone() {
    let fake = fake_with_devices();
    // Listed as a device, but every call about it fails as adb does for a lost one.
    fake.set_devices(&format!("{PIXEL} device model:Pixel_8\n"));
    fs_remove(&fake.dir().join(format!("{PIXEL}.props")));
    let devices = fake.adb.discover().await.expect("discovery");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].model.as_deref(), Some("Pixel 8"));
    assert_eq!(devices[0].manufacturer, None);
    assert_eq!(fake.log().len(), 2, "stops asking after the first failure");
}

fn fs_remove(path: &Path) {
    std::fs::remove_file(path).expect("remove");
}

#[tokio::test]
async fn attached_devices_become_private_fleet_devices_with_stable_arns() {
    let fake = fake_with_devices();
    let devices = fake.adb.discover().await.expect("discovery");
    let clean = profile(true, &[], true);
    let pixel = to_fleet_device(&devices[0], "us-west-2", "Lab A", vec!["bench-1".to_owned()], Some(clean.clone()));
    let id = fleet_device_id(PIXEL);
    assert_eq!(pixel.arn, device_arn("us-west-2", &device_arn_id(&id)));
    assert_eq!(pixel.name, "Google Pixel 8");
    assert_eq!(pixel.model, "Google Pixel 8");
    assert_eq!(pixel.model_id, "Pixel 8");
    assert_eq!(pixel.manufacturer, "Google");
    assert_eq!(pixel.platform, DevicePlatform::Android);
    assert_eq!(pixel.form_factor, DeviceFormFactor::Phone);
    assert_eq!(pixel.os.as_str(), "14");
    assert_eq!(pixel.cpu.architecture, "arm64-v8a");
    assert_eq!(pixel.resolution, Resolution { width: 1080, height: 2400 });
    assert_eq!(pixel.memory, 7_842_104 * 1024);
    assert_eq!(pixel.heap_size, 512 << 20);
    assert_eq!(pixel.image.as_deref(), Some("AP2A.240805.005"));
    assert_eq!(pixel.carrier.as_deref(), Some("T-Mobile"));
    assert_eq!(pixel.fleet_type, FleetType::Private);
    assert_eq!(pixel.fleet_name, "Lab A");
    assert_eq!(pixel.availability, DeviceAvailability::Available);
    assert_eq!(pixel.instances.len(), 1);
    let instance = &pixel.instances[0];
    assert_eq!(instance.udid, PIXEL);
    assert_eq!(instance.arn, device_instance_arn("us-west-2", &id, PIXEL));
    assert_eq!(instance.device_arn, pixel.arn);
    assert_eq!(instance.labels, ["bench-1"]);
    assert_eq!(instance.status, InstanceStatus::Available);
    assert_eq!(instance.instance_profile.as_ref(), Some(&clean));

    // The same phone at the next start gets the same ARNs; another phone others.
    let again = to_fleet_device(&devices[0], "us-west-2", "Lab A", vec![], None);
    assert_eq!((&again.arn, &again.instances[0].arn), (&pixel.arn, &instance.arn));
    let tablet = to_fleet_device(&devices[2], "us-west-2", "Lab A", vec![], None);
    assert_ne!(tablet.arn, pixel.arn);
    assert_eq!(tablet.name, "Samsung SM-X710");
    assert_eq!(tablet.form_factor, DeviceFormFactor::Tablet);
    assert_eq!(tablet.os.as_str(), "15", "a code name falls back to the API level");

    let locked = to_fleet_device(&devices[1], "us-west-2", "Lab A", vec![], None);
    assert_eq!(locked.availability, DeviceAvailability::TemporaryNotAvailable);
    assert_eq!(locked.instances[0].status, InstanceStatus::NotAvailable);
    assert_eq!(locked.name, format!("Android device {LOCKED}"));
    assert_eq!(locked.manufacturer, "Unknown");
    assert_eq!(locked.os.as_str(), "0");
}

#[tokio::test]
async fn install_succeeds_only_when_adb_says_success() {
    let fake = fake_with_devices();
    let apk = Path::new("/jobs/1/app/com.example.app.apk");
    fake.adb.install(PIXEL, apk).await.expect("installed");
    assert_eq!(fake.log(), [format!("-s {PIXEL} install -r -g /jobs/1/app/com.example.app.apk")]);
    assert!(fake.packages(PIXEL).contains("com.example.app"));

    fake.set_flag("fail-install");
    let err = fake.adb.install(PIXEL, apk).await.expect_err("refused");
    match &err {
        AdbError::InstallFailed { serial, reason, .. } => {
            assert_eq!(serial, PIXEL);
            assert!(reason.contains("INSTALL_FAILED_OLDER_SDK"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cleanup_uninstalls_exactly_the_new_unexcluded_packages_then_reboots() {
    let fake = fake_with_devices();
    let before = fake.adb.list_packages(PIXEL).await.expect("packages");
    assert_eq!(before, BASE_PACKAGES.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>());
    // The job installs the app, and the test itself adds a helper and a keeper.
    fake.adb.install(PIXEL, Path::new("/tmp/com.example.app.apk")).await.expect("installed");
    let mut now: Vec<&str> = BASE_PACKAGES.to_vec();
    now.extend(["com.example.app", "io.appium.settings", "com.example.keep"]);
    fake.set_packages(PIXEL, &now);
    fake.clear_log();

    let issued = fake.adb.apply_instance_profile(PIXEL, &before, &profile(true, &["com.example.keep"], true)).await;

    let expected = [
        format!("-s {PIXEL} shell pm list packages"),
        format!("-s {PIXEL} uninstall com.example.app"),
        format!("-s {PIXEL} uninstall io.appium.settings"),
        format!("-s {PIXEL} reboot"),
        format!("-s {PIXEL} wait-for-device"),
        format!("-s {PIXEL} shell getprop sys.boot_completed"),
    ];
    assert_eq!(fake.log(), expected);
    let commands: Vec<&str> = issued.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(commands, expected[..5]);
    assert!(issued.iter().all(|c| c.error.is_none()), "{issued:?}");
    let mut left = before.clone();
    left.insert("com.example.keep".to_owned());
    assert_eq!(fake.packages(PIXEL), left);
}

#[tokio::test]
async fn a_profile_without_cleanup_or_reboot_touches_nothing() {
    let fake = fake_with_devices();
    let before = BTreeSet::new();
    let issued = fake.adb.apply_instance_profile(PIXEL, &before, &profile(false, &[], false)).await;
    assert_eq!(issued, []);
    assert_eq!(fake.log(), Vec::<String>::new());

    let reboot_only = fake.adb.apply_instance_profile(PIXEL, &before, &profile(false, &[], true)).await;
    assert_eq!(reboot_only.len(), 2);
    assert_eq!(fake.log()[0], format!("-s {PIXEL} reboot"));
}

#[tokio::test]
async fn an_unplugged_device_is_reported_gone() {
    let fake = fake_with_devices();
    fake.set_devices("");
    let err = fake.adb.install(PIXEL, Path::new("/tmp/a.apk")).await.expect_err("gone");
    assert!(matches!(&err, AdbError::DeviceGone { serial, .. } if serial == PIXEL), "{err:?}");
    let err = fake.adb.list_packages(PIXEL).await.expect_err("gone");
    assert!(matches!(err, AdbError::DeviceGone { .. }), "{err:?}");

    fake.clear_log();
    let issued = fake.adb.apply_instance_profile(PIXEL, &BTreeSet::new(), &profile(true, &[], true)).await;
    assert_eq!(issued.len(), 1, "no reboot of a device that is gone: {issued:?}");
    assert!(issued[0].error.as_deref().is_some_and(|e| e.contains("no longer attached")));
    assert_eq!(fake.log(), [format!("-s {PIXEL} shell pm list packages")]);
}

#[tokio::test]
async fn failures_timeouts_and_a_missing_executable_are_typed() {
    let fake = fake_with_devices();
    let args = super::command::on_device(PIXEL, &["shell", "false"]);
    let err = fake.adb.run(Some(PIXEL), &args, Duration::from_secs(10)).await.expect_err("non-zero exit");
    match err {
        AdbError::Failed { command, status, stderr } => {
            assert_eq!(command, format!("-s {PIXEL} shell false"));
            assert!(status.contains('3'), "{status}");
            assert_eq!(stderr, "boom");
        }
        other => panic!("{other:?}"),
    }

    let missing = Adb::new(fake.dir().join("no-such-adb"));
    assert!(matches!(missing.devices().await, Err(AdbError::NotFound { .. })));

    fake.set_flag("hang");
    let mut slow = fake.adb.clone();
    slow.command_timeout = Duration::from_millis(200);
    let started = Instant::now();
    let err = slow.devices().await.expect_err("timed out");
    assert!(matches!(err, AdbError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let err = slow.wait_for_device(PIXEL, Duration::from_millis(300)).await.expect_err("timed out");
    assert!(matches!(err, AdbError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn waiting_for_a_device_lasts_until_boot_has_completed() {
    let fake = fake_with_devices();
    fake.set_booting_polls(2);
    fake.adb.wait_for_device(PIXEL, Duration::from_secs(10)).await.expect("booted");
    let boot_query = format!("-s {PIXEL} shell getprop sys.boot_completed");
    assert_eq!(fake.log(), [format!("-s {PIXEL} wait-for-device"), boot_query.clone(), boot_query.clone(), boot_query]);

    fake.set_booting_polls(1_000_000);
    let started = Instant::now();
    let err = fake.adb.wait_for_device(PIXEL, Duration::from_millis(300)).await.expect_err("never boots");
    assert!(matches!(err, AdbError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn logcat_is_dumped_and_cleared() {
    let fake = fake_with_devices();
    let log = fake.adb.logcat_dump(PIXEL).await.expect("logcat");
    assert_eq!(log, b"05-01 10:00:00.000  1234  1234 I Test: hello\n");
    fake.adb.clear_logcat(PIXEL).await.expect("cleared");
    assert_eq!(fake.log(), [format!("-s {PIXEL} logcat -d"), format!("-s {PIXEL} logcat -c")]);
}

async fn next(events: &mut tokio::sync::mpsc::Receiver<DeviceEvent>) -> DeviceEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event in time")
        .expect("watching goes on")
}

#[tokio::test]
async fn watching_reports_plugs_and_unplugs() {
    let fake = fake_with_devices();
    let mut events = watch(fake.adb.clone(), Duration::from_millis(20));
    assert_eq!(next(&mut events).await, DeviceEvent::Plugged(PIXEL.to_owned()));
    assert_eq!(next(&mut events).await, DeviceEvent::Plugged(TABLET.to_owned()));

    // The pixel is pulled out and the locked phone gets authorised.
    fake.set_devices(&format!("{LOCKED} device transport_id:4\n{TABLET} device transport_id:5\n"));
    assert_eq!(next(&mut events).await, DeviceEvent::Unplugged(PIXEL.to_owned()));
    assert_eq!(next(&mut events).await, DeviceEvent::Plugged(LOCKED.to_owned()));

    // A failing adb is not everyone unplugged.
    std::fs::remove_file(fake.dir().join("devices")).expect("remove");
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.set_devices(&format!("{TABLET} offline\n{LOCKED} device\n"));
    assert_eq!(next(&mut events).await, DeviceEvent::Unplugged(TABLET.to_owned()));
    assert!(fake.log().iter().all(|line| line == "devices -l"));
}

#[test]
fn adb_is_found_on_a_path_list() {
    let fake = FakeAdb::new();
    let empty = tempfile::tempdir().expect("tempdir");
    let not_executable = tempfile::tempdir().expect("tempdir");
    std::fs::write(not_executable.path().join("adb"), "").expect("write");
    let path = std::env::join_paths([empty.path(), not_executable.path(), fake.dir()]).expect("path list");
    let found = Adb::find_in(&path).expect("found");
    assert_eq!(found.program, fake.dir().join("adb"));
    let nowhere = std::env::join_paths([empty.path(), not_executable.path()]).expect("path");
    assert_eq!(Adb::find_in(&nowhere), None);
}

#[tokio::test]
async fn screen_recording_chains_segments_pulls_them_in_order_and_joins_into_one_h264() {
    let ffmpeg = crate::ffmpeg::find().expect("this test needs ffmpeg (.ci/run installs it)");
    let fake = fake_with_devices();
    fake.set_screenrecord_seconds("0.6");
    let recording = fake.adb.start_recording(PIXEL);
    // Long enough for the first segment to reach its limit and a second to begin: the
    // chain, not the length of a real job, is what is tested.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let segments = recording.finish(&fake.adb, PIXEL, dir.path()).await;
    assert!(segments.len() >= 2, "{segments:?} {:?}", fake.log());
    let names: Vec<String> =
        segments.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    let expected: Vec<String> = (0..segments.len()).map(|i| format!("screen-{i:03}.mp4")).collect();
    assert_eq!(names, expected);

    let log = fake.log();
    let calls = |prefix: &str| log.iter().filter(|l| l.starts_with(&format!("-s {PIXEL} {prefix}"))).count();
    assert_eq!(calls("shell screenrecord --time-limit 180 /sdcard/farmhand-screen-"), segments.len(), "{log:?}");
    assert_eq!(calls("shell pkill -INT screenrecord"), 1, "{log:?}");
    assert_eq!(calls("pull /sdcard/farmhand-screen-"), segments.len(), "{log:?}");
    assert_eq!(calls("shell rm -f /sdcard/farmhand-screen-"), segments.len(), "{log:?}");
    assert!(!fake.dir().join("sdcard").join("farmhand-screen-000.mp4").exists(), "removed from the device");

    let joined = dir.path().join("video.mp4");
    crate::ffmpeg::concat(ffmpeg, &segments, &joined).await.expect("joined");
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "default=nw=1"])
        .arg(&joined)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(text.contains("codec_name=h264"), "{text}");
    let duration: f64 =
        text.lines().find_map(|l| l.strip_prefix("duration=")).and_then(|d| d.parse().ok()).expect("duration");
    let expected = 0.6 * segments.len() as f64;
    assert!((duration - expected).abs() <= 0.1 * expected + 0.2, "{duration} vs {expected}");
}

#[tokio::test]
async fn a_device_that_cannot_record_ends_the_chain_instead_of_spinning() {
    let fake = fake_with_devices();
    // screenrecord answers at once with an error, as on a device without it.
    fake.set_screenrecord_seconds("not-a-number");
    let recording = fake.adb.start_recording(PIXEL);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let segments = recording.finish(&fake.adb, PIXEL, dir.path()).await;
    assert!(segments.is_empty(), "{segments:?}");
    let tries = fake.log().iter().filter(|l| l.contains("screenrecord --time-limit")).count();
    assert_eq!(tries, 1);
}

#[tokio::test]
async fn an_apps_use_is_read_from_the_devices_proc_and_meminfo() {
    let fake = fake_with_devices();
    let idle = fake.adb.app_reading(PIXEL, "com.example.shop").await.expect("reading");
    assert_eq!(idle, crate::samples::host::Reading::default(), "not running: nothing to measure");
    fake.set_running(PIXEL, &["com.example.shop"]);
    let first = fake.adb.app_reading(PIXEL, "com.example.shop").await.expect("reading");
    let second = fake.adb.app_reading(PIXEL, "com.example.shop").await.expect("reading");
    let (pid, usage) = first.usage[0];
    assert_eq!((pid, usage.rss_kb, usage.threads), (4321, 48211, 27));
    assert_eq!(second.usage[0].1.cpu_ticks - usage.cpu_ticks, 25);
    assert_eq!((first.net, second.net), ((20_000, 5_000), (40_000, 10_000)), "wlan0 only, not lo");
    let mut recorder = crate::samples::host::Recorder::with_ticks(perf::DEVICE_TICKS_PER_SECOND);
    let start = Instant::now();
    recorder.record(first, 0, start);
    recorder.record(second, 1000, start + Duration::from_secs(1));
    let series: Vec<_> = recorder.finish();
    let cpu = &series.iter().find(|(k, _)| *k == crate::samples::SampleKind::Cpu).expect("cpu").1;
    assert_eq!(cpu.points, vec![(0, 0.0), (1000, 25.0)]);
}
