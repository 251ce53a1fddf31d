"""A stand-in `adb` for remote access tests and benchmarks: no phone exists here.

It answers what farmhand asks of a phone during a remote access session, like adb would:
- `exec-out screenrecord --output-format=h264 … -` streams a real H.264 stream (made by ffmpeg
  from a test pattern) picture by picture at 30 per second, logging when it wrote each one;
- `exec-out screencap -p` answers a real PNG;
- `shell` (no command) reads command lines on its standard input, as the device's shell does,
  and logs each one with the moment it arrived;
- `install -r -g APK` logs the install;
- `root`, `shell tc …` and `shell ip link …` (a network profile) and `shell settings put global
  http_proxy …` (a device proxy) are logged in `network`.
Flags in its directory change it: `no-h264` (screenrecord ends at once, as on a device that
cannot record), `hold` (screenrecord waits for the file to go before its first picture).

Only a real device shows the rest: its own encoder's stream and key picture spacing,
screenrecord's 3-minute limit, `input` acting on real apps, and adb's own latency over USB.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = r'''#!@PYTHON@
import os, sys, time
d = "@DIR@"
args = sys.argv[1:]
with open(os.path.join(d, "log"), "a") as log:
    log.write(" ".join(args) + "\n")
serial = None
if args[:1] == ["-s"]:
    serial, args = args[1], args[2:]
line = " ".join(args)
out = sys.stdout.buffer

def access_units(data):
    """The stream's pictures: cut before each access unit delimiter (NAL type 9)."""
    starts = []
    i = 0
    while True:
        i = data.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        if data[i + 3] & 0x1F == 9:
            starts.append(i - 1 if i > 0 and data[i - 1] == 0 else i)
        i += 3
    starts.append(len(data))
    return [data[a:b] for a, b in zip(starts, starts[1:]) if b > a]

if line == "devices -l":
    print("List of devices attached")
    try:
        print(open(os.path.join(d, "devices")).read(), end="")
    except FileNotFoundError:
        pass
elif line == "shell getprop":
    print("[ro.product.model]: [Pixel 7]\n[ro.product.manufacturer]: [Google]\n"
          "[ro.build.version.release]: [14]\n[ro.build.version.sdk]: [34]\n[ro.product.cpu.abi]: [arm64-v8a]")
elif line == "shell wm size":
    print("Physical size: 1080x2400")
elif line == "shell cat /proc/meminfo":
    print("MemTotal:        7865432 kB")
elif line == "shell pm list packages":
    print("package:com.android.settings")
elif line == "shell getprop sys.boot_completed":
    print("1")
elif line in ("root", "wait-for-device"):
    print("restarting adbd as root" if line == "root" else "", end="")
elif line == "shell id -u":
    print("0")
elif line == "shell ip route get 1.1.1.1":
    print("1.1.1.1 via 192.168.1.1 dev wlan0 table 1021 src 192.168.1.50 uid 0")
elif line.startswith(("shell tc ", "shell ip link ", "shell settings put global http_proxy ")):
    with open(os.path.join(d, "network"), "a") as f:
        f.write(line[len("shell "):] + "\n")
elif line.startswith("install -r -g "):
    with open(os.path.join(d, "installs"), "a") as f:
        f.write(args[-1] + "\n")
    print("Performing Streamed Install\nSuccess")
elif line.startswith("exec-out screenrecord --output-format=h264"):
    if os.path.exists(os.path.join(d, "no-h264")):
        sys.stderr.write("ERROR: unable to create video encoder\n")
        sys.exit(1)
    while os.path.exists(os.path.join(d, "hold")):
        time.sleep(0.01)
    units = access_units(open(os.path.join(d, "stream.h264"), "rb").read())
    emitted = open(os.path.join(d, "emitted"), "a")
    began = time.monotonic()
    for n in range(180 * 30):
        due = began + n / 30
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        try:
            out.write(units[n % len(units)])
            out.flush()
        except BrokenPipeError:
            break
        emitted.write(f"{n} {time.time() * 1000:.3f}\n")
        emitted.flush()
elif line == "exec-out screencap -p":
    out.write(open(os.path.join(d, "screen.png"), "rb").read())
elif line == "shell":
    inputs = open(os.path.join(d, "inputs"), "a")
    for command in sys.stdin:
        command = command.rstrip("\n")
        if command == "exit":
            break
        inputs.write(f"{time.time() * 1000:.3f}\t{command}\n")
        inputs.flush()
else:
    sys.stderr.write(f"fake adb: unexpected arguments: {line}\n")
    sys.exit(64)
'''


def make(directory: Path, serial: str, *, keyframe_every: int = 30) -> Path:
    """Writes the fake `adb` into `directory` (which goes first on the server's PATH) with its
    media, `serial` attached; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "adb"
    script.write_text(SCRIPT.replace("@PYTHON@", sys.executable).replace("@DIR@", str(directory)))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (directory / "devices").write_text(f"{serial}\tdevice usb:1-1 product:panther model:Pixel_7 device:panther\n")
    # Ten seconds of a moving test pattern at the phone's shape, a key picture every second,
    # each picture behind an access unit delimiter, as a phone's encoder writes them.
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=540x1200:rate=30", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast",
                    "-tune", "zerolatency", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
                    "-g", str(keyframe_every), "-x264-params", "aud=1", "-f", "h264",
                    str(directory / "stream.h264")], check=True, timeout=120)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
                    "-i", "testsrc2=size=540x1200", "-frames:v", "1", str(directory / "screen.png")],
                   check=True, timeout=60)
    return directory


def inputs(directory: Path) -> list[tuple[float, str]]:
    """The shell command lines the device received, with when (epoch milliseconds)."""
    path = directory / "inputs"
    if not path.exists():
        return []
    lines = []
    for row in path.read_text().splitlines():
        at, _, command = row.partition("\t")
        lines.append((float(at), command))
    return lines


def installs(directory: Path) -> list[str]:
    path = directory / "installs"
    return path.read_text().split() if path.exists() else []


def network(directory: Path) -> list[str]:
    """The tc, ip link and proxy settings commands the phone was given, in order."""
    path = directory / "network"
    return path.read_text().splitlines() if path.exists() else []


def emitted(directory: Path) -> list[tuple[int, float]]:
    """The pictures screenrecord wrote: (number, epoch milliseconds)."""
    path = directory / "emitted"
    if not path.exists():
        return []
    return [(int(n), float(at)) for n, at in (row.split() for row in path.read_text().splitlines() if row)]


def path_with(directory: Path) -> str:
    return f"{directory}:{os.environ['PATH']}"


def farm(root: Path, phone: Path, fleet: list[dict]):
    """A server (not started) on `fleet`, whose adb devices are the fake phone in `phone`."""
    from harness import Farmhand, new_access_key
    from simfarm import fleet_toml

    (root / "fleet.toml").write_text(fleet_toml(fleet))
    return Farmhand(root / "data", root_key=new_access_key(), extra_args=["--fleet", str(root / "fleet.toml")],
                    env={"PATH": path_with(phone)})
