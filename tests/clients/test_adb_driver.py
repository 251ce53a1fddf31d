"""An Android device behind the `adb` driver, with a fake `adb` on the server's PATH (no
phone exists here; the fake answers like adb and logs every call). The executor installs
the app before the tests, points the spec at the device with ANDROID_SERIAL, keeps its
logcat as the Device Log, and applies the instance profile afterwards: the packages the job
added are uninstalled (except excluded ones) and the device reboots, in that order."""

from __future__ import annotations

import os
import stat
import subprocess

import requests

from harness import Farmhand, new_access_key, running
from simfarm import Lab, spec_yaml, wait_for
from support import make_zip, unique

SERIAL = "FAKE0PIXEL01"

FAKE_ADB = r"""#!/bin/sh
d='@DIR@'
printf '%s\n' "$*" >> "$d/log"
[ "$1" = "-s" ] && shift 2
case "$*" in
  "devices -l") echo "List of devices attached"; cat "$d/devices" 2>/dev/null ;;
  "shell getprop") printf '[ro.product.model]: [Pixel 7]\n[ro.product.manufacturer]: [Google]\n[ro.build.version.release]: [14]\n[ro.build.version.sdk]: [34]\n[ro.product.cpu.abi]: [arm64-v8a]\n' ;;
  "shell wm size") echo "Physical size: 1080x2400" ;;
  "shell cat /proc/meminfo") echo "MemTotal:        7865432 kB" ;;
  "shell pm list packages") sed 's/^/package:/' "$d/packages" ;;
  "install -r -g "*) echo "com.example.app" >> "$d/packages"; echo Success ;;
  "uninstall "*) grep -vx "$2" "$d/packages" > "$d/tmp"; mv "$d/tmp" "$d/packages"; echo Success ;;
  "shell getprop sys.boot_completed") echo 1 ;;
  reboot|wait-for-device|"logcat -c") ;;
  "logcat -d") printf '05-01 10:00:00.000  1234  1234 I ActivityManager: started com.example.app\n' ;;
  "shell screenrecord --time-limit 180 "*)
    # A real 1-second MP4 per segment, then "recording" until pkill -INT, as screenrecord
    # would until its 3-minute limit (only a real device shows the screen itself).
    mkdir -p "$d/sdcard"
    ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i "color=c=gray:s=64x64:r=5" -t 1 \
      -c:v libx264 -pix_fmt yuv420p "$d/sdcard/$(basename "$5")" || exit 1
    while [ ! -e "$d/screenrecord-stop" ]; do sleep 0.05; done
    rm -f "$d/screenrecord-stop" ;;
  "shell pkill -INT screenrecord") touch "$d/screenrecord-stop" ;;
  "pull /sdcard/"*) cp "$d/sdcard/$(basename "$2")" "$3" ;;
  "shell rm -f /sdcard/"*) rm -f "$d/sdcard/$(basename "$4")" ;;
  *) echo "fake adb: unexpected arguments: $*" >&2; exit 64 ;;
esac
"""

FLEET = f"""
[fleet]
type = "PRIVATE"
name = "Phones"

[[instance_profile]]
id = "clean"
name = "Clean after use"
package_cleanup = true
exclude_app_packages_from_cleanup = ["com.example.keep"]
reboot_after_use = true

[[device]]
id = "pixel-usb"
name = "Pixel on USB"
manufacturer = "Google"
model = "Pixel 8"
model_id = "GKWS6"
form_factor = "PHONE"
platform = "ANDROID"
os = "14"
cpu = {{ frequency = "MHz", architecture = "arm64-v8a", clock = 2910.0 }}
resolution = {{ width = 1080, height = 2400 }}
heap_size = 536870912
memory = 8000000000
driver = "adb"

[[device.instance]]
udid = "{SERIAL}"
instance_profile = "clean"
"""


def test_adb_job_installs_runs_logs_and_cleans_up(tmp_path):
    fake = tmp_path / "fake-adb"
    fake.mkdir()
    (fake / "adb").write_text(FAKE_ADB.replace("@DIR@", str(fake)))
    (fake / "adb").chmod((fake / "adb").stat().st_mode | stat.S_IEXEC)
    (fake / "packages").write_text("com.android.settings\n")
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET)
    markers = tmp_path / "markers"
    markers.mkdir()

    # The fake `adb` first on the server's PATH, where the adb driver looks for it.
    with running(Farmhand(tmp_path / "data", root_key=new_access_key(), extra_args=["--fleet", str(fleet)],
                          env={"PATH": f"{fake}:{os.environ['PATH']}"})) as server:
        lab = Lab(server)
        app = lab.app()
        package = lab.upload("tests.zip", "APPIUM_PYTHON_TEST_PACKAGE", make_zip({"tests/t.py": "x = 1\n"}))
        spec = lab.upload("spec.yml", "APPIUM_PYTHON_TEST_SPEC", spec_yaml(
            test=[f"echo $ANDROID_SERIAL > {markers}/serial", f"cp {fake}/log {markers}/adb-calls-before-test"],
        ).encode())
        pool = lab.pool([lab.client.list_devices()["devices"][0]["arn"]])
        run = lab.client.schedule_run(projectArn=lab.arn, appArn=app, devicePoolArn=pool, name=unique("adb"),
                                      test={"type": "APPIUM_PYTHON", "testPackageArn": package["arn"],
                                            "testSpecArn": spec["arn"]})["run"]
        job = lab.jobs(run["arn"])[0]
        final = wait_for(lambda: lab.client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED",
                         timeout=60, what="the adb job")
        assert final["result"] == "PASSED", final
        assert (markers / "serial").read_text().strip() == SERIAL
        assert "install -r -g" in (markers / "adb-calls-before-test").read_text(), "the app is installed before the tests"

        calls = [line for line in (fake / "log").read_text().splitlines()]
        install = next(i for i, c in enumerate(calls) if " install -r -g " in c)
        uninstall = next(i for i, c in enumerate(calls) if c.endswith("uninstall com.example.app"))
        reboot = next(i for i, c in enumerate(calls) if c.endswith(" reboot"))
        assert calls[0] == f"-s {SERIAL} shell pm list packages", calls
        assert install < uninstall < reboot, calls
        assert not any(c.endswith("uninstall com.android.settings") for c in calls), "pre-existing packages stay"
        assert (fake / "packages").read_text().split() == ["com.android.settings"]

        logs = {a["type"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="LOG")["artifacts"]}
        assert "started com.example.app" in requests.get(logs["DEVICE_LOG"]["url"], timeout=10).text

        # The screen was recorded while the job ran (screenrecord, stopped with SIGINT), pulled
        # and filed as AWS files it: "Video" under FILE, a real H.264 MP4.
        assert any(c.startswith(f"-s {SERIAL} shell screenrecord --time-limit 180 ") for c in calls), calls
        assert f"-s {SERIAL} shell pkill -INT screenrecord" in calls, calls
        files = {a["name"]: a for a in lab.client.list_artifacts(arn=job["arn"], type="FILE")["artifacts"]}
        assert (files["Video"]["type"], files["Video"]["extension"]) == ("VIDEO", "mp4"), files
        video = tmp_path / "Video.mp4"
        video.write_bytes(requests.get(files["Video"]["url"], timeout=10).content)
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                                str(video)], check=True, capture_output=True, text=True).stdout.split()
        assert probe == ["h264"], probe


def test_attached_phones_join_the_fleet_and_leave_it_unavailable(tmp_path):
    fake = tmp_path / "fake-adb"
    fake.mkdir()
    (fake / "adb").write_text(FAKE_ADB.replace("@DIR@", str(fake)))
    (fake / "adb").chmod((fake / "adb").stat().st_mode | stat.S_IEXEC)
    (fake / "packages").write_text("com.android.settings\n")
    plugged = "USBPHONE0001 device usb:1-1 product:panther model:Pixel_7 device:panther transport_id:3\n"
    (fake / "devices").write_text(plugged)

    with running(Farmhand(tmp_path / "data", root_key=new_access_key(), extra_args=["--adb-discovery"],
                          env={"PATH": f"{fake}:{os.environ['PATH']}"})) as server:
        client = server.client()
        usb = [{"attribute": "FLEET_TYPE", "operator": "EQUALS", "values": ["PRIVATE"]}]

        def phones():
            return client.list_devices(filters=usb)["devices"]

        found = wait_for(lambda: {"devices": phones()}, lambda v: len(v["devices"]) == 1, timeout=20,
                         what="the attached phone")["devices"][0]
        assert (found["name"], found["model"], found["manufacturer"], found["os"], found["platform"]) == (
            "Google Pixel 7", "Google Pixel 7", "Google", "14", "ANDROID")
        assert found["resolution"] == {"width": 1080, "height": 2400}
        assert found["instances"][0]["udid"] == "USBPHONE0001"
        assert found["availability"] in ("AVAILABLE", "HIGHLY_AVAILABLE")
        assert len(client.list_devices()["devices"]) > 1, "the demo fleet stays beside it"

        # A job on the phone, then the phone is pulled out mid-test.
        markers = tmp_path / "markers"
        markers.mkdir()
        lab = Lab(server)
        package = lab.upload("tests.zip", "APPIUM_WEB_PYTHON_TEST_PACKAGE", make_zip({"tests/t.py": "x = 1\n"}))
        spec = lab.upload("spec.yml", "APPIUM_WEB_PYTHON_TEST_SPEC",
                          spec_yaml(test=[f"touch {markers}/started", "sleep 30"]).encode())
        run = lab.client.schedule_run(projectArn=lab.arn, devicePoolArn=lab.pool([found["arn"]]), name=unique("usb"),
                                      test={"type": "APPIUM_WEB_PYTHON", "testPackageArn": package["arn"],
                                            "testSpecArn": spec["arn"]})["run"]
        job = lab.jobs(run["arn"])[0]
        wait_for(lambda: {"s": (markers / "started").exists()}, lambda v: v["s"], timeout=20, what="the test")

        (fake / "devices").write_text("")
        ended = wait_for(lambda: client.get_job(arn=job["arn"])["job"], lambda j: j["status"] == "COMPLETED",
                         timeout=30, what="the job on the unplugged phone to end")
        assert ended["result"] == "ERRORED", ended
        assert ended["message"] == "The device USBPHONE0001 was unplugged while the job ran"
        gone = wait_for(lambda: {"d": client.get_device(arn=found["arn"])["device"]},
                        lambda v: v["d"]["availability"] == "TEMPORARY_NOT_AVAILABLE", timeout=20, what="unplugged")["d"]
        assert gone["instances"][0]["status"] == "NOT_AVAILABLE"
        (fake / "devices").write_text(plugged)
        wait_for(lambda: {"d": client.get_device(arn=found["arn"])["device"]},
                 lambda v: v["d"]["availability"] != "TEMPORARY_NOT_AVAILABLE", timeout=20, what="plugged back")
