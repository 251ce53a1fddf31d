"""What a remote access session adds between a person and a phone, on loopback, each figure
beside a baseline measured in the same run (the phone is the fake `adb` of the tests: a
real H.264 stream at 30 pictures a second, and a shell that logs when each line arrives):

1. Input latency: a click on the session's screen in Chromium (the pointer event's own
   time) → the `input tap` line reaching the phone's shell, through the page's WebSocket,
   the server and the agent's connection. Baseline: the same line written straight into an
   `adb shell` of the fake phone. Goal: p99 under 50 ms.
2. Frame latency: a picture written by the phone's screenrecord → painted on the session's
   canvas in Chromium (decoded by WebCodecs). Baseline: the same pictures handed to the same
   page's decoder in the page itself, paced the same (the browser's own decode-and-paint
   floor). Goal: p99 under 100 ms.

Run from the repository root after `cargo build --release -p farmhand`
(./scripts/bench --only remote_access does both):

    .venv/bin/python bench/remote_access.py
    .venv/bin/python bench/remote_access.py --seconds 5 --clicks 50   # a quick look
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests/clients"))
os.environ.setdefault("FARMHAND_BIN", str(REPO / "target/release/farmhand"))

import fake_adb  # noqa: E402
from browser import Browser  # noqa: E402
from harness import Farmhand, new_access_key  # noqa: E402
from simfarm import Lab, device, fleet_toml, wait_for  # noqa: E402

SERIAL = "BENCH0PIXEL"
PHONE = {**device("bench-pixel", "Bench Pixel"), "remote_access_enabled": True, "driver": "adb", "udids": [SERIAL]}

# Decodes the pictures it is given, one every `interval` ms as a phone sends them, and
# answers, per picture, the milliseconds from handing it over to its paint.
DECODE_FLOOR = """async ([pictures, codec, interval]) => {
  const canvas = document.getElementById('screen');
  const draw = canvas.getContext('2d');
  const handed = [];
  const took = [];
  await new Promise((resolve) => {
    const decoder = new VideoDecoder({
      output: (frame) => {
        draw.drawImage(frame, 0, 0, canvas.width, canvas.height);
        took.push(performance.now() - handed[took.length]);
        frame.close();
        if (took.length === pictures.length) resolve();
      },
      error: (e) => resolve(),
    });
    decoder.configure({ codec, optimizeForLatency: true });
    pictures.forEach((b64, i) => setTimeout(() => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      handed.push(performance.now());
      decoder.decode(new EncodedVideoChunk({ type: i % 30 === 0 ? 'key' : 'delta', timestamp: i * 33333, data }));
    }, i * interval));
  });
  return took;
}"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def access_units(data: bytes) -> list[bytes]:
    starts, i = [], 0
    while (i := data.find(b"\x00\x00\x01", i)) >= 0:
        if data[i + 3] & 0x1F == 9:
            starts.append(i - 1 if i > 0 and data[i - 1] == 0 else i)
        i += 3
    starts.append(len(data))
    return [data[a:b] for a, b in zip(starts, starts[1:]) if b > a]


def shell_floor(phone: Path, lines: int) -> list[float]:
    """Milliseconds from writing a line into the fake phone's shell to its arrival there."""
    before = len(fake_adb.inputs(phone))
    shell = subprocess.Popen([str(phone / "adb"), "-s", SERIAL, "shell"], stdin=subprocess.PIPE, text=True)
    written = []
    for n in range(lines):
        written.append(time.time() * 1000)
        shell.stdin.write(f"input tap {n} {n}\n")
        shell.stdin.flush()
        time.sleep(0.02)
    shell.stdin.write("exit\n")
    shell.stdin.close()
    shell.wait(timeout=30)
    arrived = [at for at, _ in fake_adb.inputs(phone)[before:]]
    return [a - w for a, w in zip(arrived, written)]


def row(name: str, ours: list[float], floor: list[float], goal_p99: float) -> None:
    p50, p99 = percentile(ours, 50), percentile(ours, 99)
    b50, b99 = percentile(floor, 50), percentile(floor, 99)
    verdict = "PASS" if p99 < goal_p99 else "MISS"
    print(f"{name:<16} farmhand p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  (n={len(ours)})   "
          f"baseline p50 {b50:6.2f} ms  p99 {b99:6.2f} ms   overhead p50 {p50 - b50:6.2f} ms   "
          f"ratio p50 {p50 / max(b50, 0.01):6.1f}x   goal p99 < {goal_p99:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to watch the stream")
    parser.add_argument("--clicks", type=int, default=100, help="taps to time")
    args = parser.parse_args()
    print("\n==> remote access: input and frame latency on loopback (fake adb phone, Chromium)")
    with tempfile.TemporaryDirectory(prefix="farmhand-bench-remote-") as tmp:
        root = Path(tmp)
        phone = fake_adb.make(root / "phone", SERIAL)
        (phone / "hold").touch()
        (root / "fleet.toml").write_text(fleet_toml([PHONE]))
        farm = Farmhand(root / "data", root_key=new_access_key(), extra_args=["--fleet", str(root / "fleet.toml")],
                        env={"PATH": fake_adb.path_with(phone), "RUST_LOG": "warn"}).start()
        browser = Browser(root / "driver.log").start()
        try:
            lab = Lab(farm, name="bench")
            arn = next(d["arn"] for d in lab.client.list_devices()["devices"] if d["name"] == "Bench Pixel")
            made = lab.client.create_remote_access_session(projectArn=lab.arn, deviceArn=arn)["remoteAccessSession"]
            session = wait_for(lambda: lab.client.get_remote_access_session(arn=made["arn"])["remoteAccessSession"],
                               lambda s: s["status"] == "RUNNING", timeout=60)
            page = browser.page("bench", width=1280, height=1000)
            page.goto(session["endpoint"])
            page.wait("() => (document.getElementById('remote-status') || {}).textContent.startsWith('Connected')",
                      timeout=30)
            # The phone starts streaming now: picture n emitted is picture n painted.
            (phone / "hold").unlink()
            time.sleep(args.seconds)
            paints = page.eval("() => window.farmhandRemote.paints")
            codec = page.eval("() => window.farmhandRemote.codec")
            emitted = fake_adb.emitted(phone)
            count = min(len(paints), len(emitted))
            warmup = 10
            frames = [paints[i][1] - emitted[i][1] for i in range(warmup, count)]
            print(f"pictures: {len(emitted)} emitted, {len(paints)} painted in {args.seconds:.0f} s")

            before = len(fake_adb.inputs(phone))
            for _ in range(args.clicks):
                page.click_at("#screen", 100, 200)
                time.sleep(0.05)
            wait_for(lambda: {"n": len(fake_adb.inputs(phone)) - before}, lambda v: v["n"] >= args.clicks, timeout=60)
            acted = page.eval("() => Object.keys(window.farmhandRemote.inputs).map(Number).sort((a, b) => a - b)"
                              ".map((k) => window.farmhandRemote.inputs[k].acted)")
            arrived = [at for at, _ in fake_adb.inputs(phone)[before:]]
            inputs = [a - b for a, b in zip(arrived, acted[-args.clicks:])]

            units = access_units((phone / "stream.h264").read_bytes())[: max(60, int(args.seconds * 30))]
            floor_frames = page.eval(DECODE_FLOOR, [[base64.b64encode(u).decode() for u in units], codec, 33])[warmup:]
            floor_inputs = shell_floor(phone, args.clicks)
            lab.client.stop_remote_access_session(arn=made["arn"])
            row("input latency", inputs, floor_inputs, 50)
            row("frame latency", frames, floor_frames, 100)
        finally:
            browser.stop()
            farm.stop()


if __name__ == "__main__":
    main()
