//! Tests only: a stand-in `adb`, a shell script answering from files in its own
//! temporary directory and logging every call, so tests assert the exact commands
//! farmhand issued and their order. Each test has its own script, passed explicitly
//! as [`Adb::program`]: nothing touches the process's PATH.
//!
//! Its `screenrecord` writes a small real MP4 (ffmpeg's test colour) so the chain of
//! segments, the pulls and the join are exercised for real. Only a real device shows the
//! rest: the screen's actual content, the 180-second limit itself, and that SIGINT is what
//! makes screenrecord finish a playable file.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::command::Adb;

const SCRIPT: &str = r#"#!/bin/sh
d='@DIR@'
printf '%s\n' "$*" >> "$d/log"
[ -e "$d/hang" ] && exec sleep 30
serial=
if [ "$1" = "-s" ]; then
  serial=$2
  shift 2
  if ! grep -Eq "^$serial[[:space:]]+device([[:space:]]|\$)" "$d/devices"; then
    echo "adb: device '$serial' not found" >&2
    exit 1
  fi
fi
case "$*" in
  "devices -l") echo "List of devices attached"; cat "$d/devices" ;;
  "shell getprop sys.boot_completed")
    n=$(cat "$d/booting" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$d/booting"; echo; else echo 1; fi ;;
  "shell getprop") cat "$d/$serial.props" ;;
  "shell wm size") cat "$d/$serial.wm" ;;
  "shell cat /proc/meminfo") cat "$d/$serial.meminfo" ;;
  "shell pm list packages") sed 's/^/package:/' "$d/$serial.packages" ;;
  "install -r -g "*)
    echo "Performing Streamed Install"
    if [ -e "$d/fail-install" ]; then
      echo "adb: failed to install $4: Failure [INSTALL_FAILED_OLDER_SDK: Requires newer sdk version #34 (current version is #30)]" >&2
      exit 1
    fi
    basename "$4" .apk >> "$d/$serial.packages"
    echo Success ;;
  "uninstall "*)
    grep -vx "$2" "$d/$serial.packages" > "$d/$serial.tmp"
    mv "$d/$serial.tmp" "$d/$serial.packages"
    echo Success ;;
  reboot|wait-for-device|"logcat -c") ;;
  "logcat -d") printf '05-01 10:00:00.000  1234  1234 I Test: hello\n' ;;
  "shell false") echo "boom" >&2; exit 3 ;;
  "shell screenrecord --time-limit 180 "*)
    # A real MP4 (made by ffmpeg) of screenrecord-seconds, then "recording" until that time
    # passes or pkill -INT arrives, as screenrecord does until its time limit.
    secs=$(cat "$d/screenrecord-seconds" 2>/dev/null || echo 1)
    mkdir -p "$d/sdcard"
    ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i "color=c=gray:s=64x64:r=5" -t "$secs" \
      -c:v libx264 -pix_fmt yuv420p "$d/sdcard/$(basename "$5")" || exit 1
    end=$(( $(date +%s%N) + $(echo "$secs" | awk '{printf "%d", $1 * 1000000000}') ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
      if [ -e "$d/screenrecord-stop" ]; then rm -f "$d/screenrecord-stop"; exit 0; fi
      sleep 0.05
    done ;;
  "shell pkill -INT screenrecord") touch "$d/screenrecord-stop" ;;
  "pull /sdcard/"*) cp "$d/sdcard/$(basename "$2")" "$3" ;;
  "shell rm -f /sdcard/"*) rm -f "$d/sdcard/$(basename "$4")" ;;
  root) if [ -e "$d/no-root" ]; then echo "adbd cannot run as root in production builds"; else echo "restarting adbd as root"; fi ;;
  "shell id -u") if [ -e "$d/no-root" ]; then echo 2000; else echo 0; fi ;;
  "shell ip route get 1.1.1.1") echo "1.1.1.1 via 192.168.1.1 dev wlan0 table 1021 src 192.168.1.50 uid 0" ;;
  "shell tc "*|"shell ip link "*)
    if [ -e "$d/no-netem" ]; then echo "Error: Specified qdisc kind is unknown." >&2; exit 2; fi ;;
  "shell pidof "*)
    grep -qx "$3" "$d/$serial.running" 2>/dev/null || exit 1
    echo 4321 ;;
  "shell cat /proc/4321/stat")
    # The app's CPU time grows 25 ticks (a quarter of a second) per reading.
    n=$(( $(cat "$d/ticks" 2>/dev/null || echo 0) + 25 )); echo $n > "$d/ticks"
    echo "4321 (m.example.shop) S 612 612 0 0 -1 1077952832 9000 0 12 0 $n 0 0 0 10 -10 27 0 3500 1500000000 12000 18446744073709551615" ;;
  "shell cat /proc/4321/status") printf 'Name:\tm.example.shop\nState:\tS (sleeping)\nTgid:\t4321\nThreads:\t27\n' ;;
  "shell cat /proc/4321/net/dev")
    n=$(( $(cat "$d/rx" 2>/dev/null || echo 0) + 20000 )); echo $n > "$d/rx"
    printf 'Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n wlan0: %s 40 0 0 0 0 0 0 %s 20 0 0 0 0 0 0\n' $n $((n / 4)) ;;
  "shell dumpsys meminfo "*)
    printf '** MEMINFO in pid 4321 [%s] **\n        TOTAL    48211    39000     4000        0   120000\n App Summary\n           TOTAL PSS:    48211            TOTAL RSS:   120000\n' "$4" ;;
  *) echo "fake adb: unexpected arguments: $*" >&2; exit 64 ;;
esac
"#;

pub(super) struct FakeAdb {
    dir: tempfile::TempDir,
    pub adb: Adb,
}

impl FakeAdb {
    pub fn new() -> FakeAdb {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("adb");
        let text = SCRIPT.replace("@DIR@", &dir.path().display().to_string());
        fs::write(&script, text).expect("write fake adb");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::write(dir.path().join("devices"), "").expect("write");
        let mut adb = Adb::new(script);
        adb.boot_poll_interval = Duration::from_millis(10);
        FakeAdb { dir, adb }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces the `adb devices -l` listing (without its header line).
    pub fn set_devices(&self, listing: &str) {
        fs::write(self.path("devices"), listing).expect("write");
    }

    /// What the device with `serial` answers to getprop, wm size, meminfo and pm.
    pub fn describe(&self, serial: &str, props: &str, wm: &str, meminfo: &str, packages: &[&str]) {
        fs::write(self.path(&format!("{serial}.props")), props).expect("write");
        fs::write(self.path(&format!("{serial}.wm")), wm).expect("write");
        fs::write(self.path(&format!("{serial}.meminfo")), meminfo).expect("write");
        self.set_packages(serial, packages);
    }

    /// The packages whose process runs on `serial` (what `pidof` finds).
    pub fn set_running(&self, serial: &str, packages: &[&str]) {
        let text: String = packages.iter().map(|p| format!("{p}\n")).collect();
        fs::write(self.path(&format!("{serial}.running")), text).expect("write");
    }

    pub fn set_packages(&self, serial: &str, packages: &[&str]) {
        let text: String = packages.iter().map(|p| format!("{p}\n")).collect();
        fs::write(self.path(&format!("{serial}.packages")), text).expect("write");
    }

    pub fn packages(&self, serial: &str) -> BTreeSet<String> {
        fs::read_to_string(self.path(&format!("{serial}.packages"))).expect("read").lines().map(str::to_owned).collect()
    }

    /// Makes the named behaviour happen: "hang" (every call sleeps), "fail-install",
    /// "no-root" (a production build), "no-netem" (tc refuses netem).
    pub fn set_flag(&self, flag: &str) {
        fs::write(self.path(flag), "").expect("write");
    }

    /// The device answers "not booted yet" to this many boot-completed queries.
    pub fn set_booting_polls(&self, polls: u32) {
        fs::write(self.path("booting"), polls.to_string()).expect("write");
    }

    /// How long each fake screenrecord segment lasts (seconds, fractions allowed).
    pub fn set_screenrecord_seconds(&self, seconds: &str) {
        fs::write(self.path("screenrecord-seconds"), seconds).expect("write");
    }

    /// Every call so far, one line of arguments each.
    pub fn log(&self) -> Vec<String> {
        fs::read_to_string(self.path("log")).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    pub fn clear_log(&self) {
        fs::write(self.path("log"), "").expect("write");
    }
}
