"""Remote access sessions through boto3 and a viewer's WebSocket: on a simulated device (its
screen drawn by farmhand) and on an adb phone (a fake `adb` streaming real H.264 and logging
the shell commands it is given). The session's course (PENDING → RUNNING → STOPPING →
COMPLETED), the device held from jobs, billing, its recording and input log, installs,
quoting of hostile text, the interaction modes, the idle timeout on the service clock, a lost
device, another account, and a viewer on another replica."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shlex
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import websocket
from botocore.exceptions import ClientError

import fake_adb
from agents import start_agent
from harness import Farmhand, new_access_key, running
from simfarm import Lab, device, fleet_toml, wait_for
from support import error_code, no_nulls, unique

SERIAL = "FAKE0PIXEL01"
SESSION_ARN = re.compile(r"^arn:aws:devicefarm:us-west-2:(\d{12}):session:([0-9a-f-]{36})/([0-9a-f-]{36})/00000$")


def remote(d: dict) -> dict:
    return {**d, "remote_access_enabled": True}


SIM = remote(device("ra-sim", "Remote Sim"))
SIM_BUSY = remote(device("ra-busy", "Remote Busy"))
NO_REMOTE = device("ra-closed", "No Remote")
PHONE = {**remote(device("pixel-usb", "Pixel on USB")), "driver": "adb", "udids": [SERIAL]}


@pytest.fixture(scope="module")
def phone_dir(tmp_path_factory) -> Path:
    return fake_adb.make(tmp_path_factory.mktemp("fake-adb"), SERIAL)


@pytest.fixture(scope="module")
def farm(tmp_path_factory, phone_dir):
    root = tmp_path_factory.mktemp("remote-access")
    with running(fake_adb.farm(root, phone_dir, [SIM, SIM_BUSY, NO_REMOTE, PHONE])) as started:
        yield started


@pytest.fixture(scope="module")
def lab(farm) -> Lab:
    return Lab(farm, name="remote")


def device_arn(client, name: str) -> str:
    return next(d["arn"] for d in client.list_devices()["devices"] if d["name"] == name)


def get(client, arn: str) -> dict:
    return client.get_remote_access_session(arn=arn)["remoteAccessSession"]


def running_session(lab: Lab, name: str, **kwargs) -> dict:
    session = lab.client.create_remote_access_session(projectArn=lab.arn, deviceArn=device_arn(lab.client, name),
                                                      **kwargs)["remoteAccessSession"]
    return wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "RUNNING", timeout=30,
                    what="a RUNNING session")


def stopped(lab: Lab, arn: str) -> dict:
    lab.client.stop_remote_access_session(arn=arn)
    return wait_for(lambda: get(lab.client, arn), lambda s: s["status"] == "COMPLETED", timeout=30,
                    what="a COMPLETED session")


class Viewer:
    """A viewer's WebSocket: pictures and messages in, input out."""

    def __init__(self, endpoint: str):
        self.ws = websocket.create_connection(endpoint.replace("http", "ws", 1) + "/ws", timeout=15)
        self.messages: list[dict] = []
        self.pictures: list[bytes] = []
        self.seq = 0

    def pump(self, until, *, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, f"viewer: gave up; messages {self.messages[-5:]}"
            frame = self.ws.recv()
            if isinstance(frame, bytes):
                self.pictures.append(frame)
            else:
                self.messages.append(json.loads(frame))

    def of(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def send(self, input: dict) -> dict:
        self.seq += 1
        seq = self.seq
        self.ws.send(json.dumps({"op": "input", "seq": seq, "input": input}))
        self.pump(lambda: any(m.get("seq") == seq for m in self.messages))
        return next(m for m in self.messages if m.get("seq") == seq)

    def close(self):
        self.ws.close()


@contextmanager
def viewing(endpoint: str):
    viewer = Viewer(endpoint)
    try:
        yield viewer
    finally:
        viewer.close()


def inputs_received(phone_dir: Path, count: int) -> list[str]:
    return wait_for(lambda: {"lines": [c for _, c in fake_adb.inputs(phone_dir)]},
                    lambda v: len(v["lines"]) >= count, timeout=15, what=f"{count} shell lines")["lines"]


def test_a_session_on_a_simulated_device_runs_shows_its_screen_and_bills_like_a_job(farm, lab):
    client = lab.client
    created = client.create_remote_access_session(projectArn=lab.arn, deviceArn=device_arn(client, "Remote Sim"),
                                                  name="first")["remoteAccessSession"]
    assert SESSION_ARN.match(created["arn"]), created["arn"]
    assert created["status"] in ("PENDING", "PREPARING", "RUNNING") and created["result"] == "PENDING"
    assert created["billingMethod"] == "METERED" and created["interactionMode"] == "INTERACTIVE"
    assert created["device"]["name"] == "Remote Sim" and created["deviceMinutes"]["total"] == 0
    seen = []
    session = wait_for(lambda: get(client, created["arn"]), lambda s: seen.append(s["status"]) or s["status"] == "RUNNING",
                       timeout=30)
    order = ["PENDING", "PENDING_CONCURRENCY", "PENDING_DEVICE", "PREPARING", "RUNNING"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    no_nulls(session)
    assert session["instanceArn"] in [i["arn"] for i in session["device"]["instances"]]
    assert session["deviceUdid"] == "RASIM000"
    assert session["endpoint"] == session["endpoints"]["interactiveEndpoint"]
    assert session["endpoint"].startswith(farm.endpoint + "/remote-access/")
    assert session["started"] >= session["created"]
    assert "remoteDriverEndpoint" not in session["endpoints"]
    # The device is busy while the session holds it.
    sim = next(d for d in client.list_devices()["devices"] if d["name"] == "Remote Sim")
    assert sim["availability"] == "BUSY" and sim["instances"][0]["status"] == "IN_USE"

    with viewing(session["endpoint"]) as viewer:
        viewer.pump(lambda: len(viewer.pictures) >= 10)
        (hello,) = viewer.of("hello")
        assert hello["mode"] == "INTERACTIVE" and hello["device"] == {"name": "Remote Sim", "width": 1080, "height": 2400}
        config = viewer.of("config")[0]
        assert config["codec"].startswith("avc1.") and (config["width"], config["height"]) == (288, 640)
        assert viewer.pictures[0][0] == 1, "the first picture is a key picture"
        assert len({p[9:] for p in viewer.pictures}) > 1, "the screen moves"
        assert viewer.send({"type": "tap", "x": 0.5, "y": 0.25})["type"] == "ack"
        assert viewer.send({"type": "text", "text": "hello farm"})["type"] == "ack"
        assert viewer.send({"type": "key", "key": "home"})["type"] == "ack"
        refused = viewer.send({"type": "shell", "command": "reboot"})
        assert refused["type"] == "refused" and "unknown variant" in refused["message"]
        refused = viewer.send({"type": "tap", "x": 2, "y": 0})
        assert refused["type"] == "refused" and "lie in the picture" in refused["message"]

    listed = client.list_remote_access_sessions(arn=lab.arn)["remoteAccessSessions"]
    assert created["arn"] in [s["arn"] for s in listed]
    with pytest.raises(ClientError) as running_delete:
        client.delete_remote_access_session(arn=created["arn"])
    assert error_code(running_delete.value) == "ArgumentException"

    stopping = client.stop_remote_access_session(arn=created["arn"])["remoteAccessSession"]
    assert stopping["status"] in ("STOPPING", "COMPLETED")
    done = wait_for(lambda: get(client, created["arn"]), lambda s: s["status"] == "COMPLETED", timeout=30)
    assert done["result"] == "STOPPED" and "endpoint" not in done
    # Free the moment the session is over, as the session itself shows it.
    assert done["device"]["availability"] == "AVAILABLE" and done["device"]["instances"][0]["status"] == "AVAILABLE"
    seconds = math.ceil(round((done["stopped"] - done["started"]).total_seconds() * 1000) / 1000)
    assert done["deviceMinutes"] == {"total": pytest.approx(seconds / 60), "metered": pytest.approx(seconds / 60),
                                     "unmetered": 0.0}
    # A second stop changes nothing.
    again = client.stop_remote_access_session(arn=created["arn"])["remoteAccessSession"]
    assert (again["stopped"], again["deviceMinutes"]) == (done["stopped"], done["deviceMinutes"])

    # Billed in the ledger as device minutes of the session.
    rows = list(csv.DictReader(io.StringIO("\n".join(farm.manage("billing", "report", "--csv")) + "\n")))
    row = next(r for r in rows if r["job_arn"] == created["arn"])
    assert (row["billing_method"], int(row["seconds"])) == ("METERED", seconds)

    # Its recording and its input log.
    (video,) = client.list_artifacts(arn=created["arn"], type="FILE")["artifacts"]
    assert (video["name"], video["type"], video["extension"]) == ("Video", "VIDEO", "mp4")
    assert video["arn"] == created["arn"].replace(":session:", ":artifact:") + "/00000"
    body = requests.get(video["url"], timeout=30).content
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "-"],
                           input=body, capture_output=True, timeout=30)
    assert probe.stdout.decode().strip() == "h264", probe.stderr
    (log,) = client.list_artifacts(arn=created["arn"], type="LOG")["artifacts"]
    assert (log["type"], log["extension"]) == ("MESSAGE_LOG", "log")
    lines = [json.loads(line) for line in requests.get(log["url"], timeout=30).text.splitlines()]
    assert [line["input"] for line in lines if "refused" not in line][:3] == [
        {"type": "tap", "x": 540, "y": 600}, {"type": "text", "text": "hello farm"}, {"type": "key", "key": "home"}]
    assert any(line.get("refused") for line in lines)
    assert client.list_artifacts(arn=created["arn"], type="SCREENSHOT")["artifacts"] == []

    client.delete_remote_access_session(arn=created["arn"])
    with pytest.raises(ClientError) as gone:
        get(client, created["arn"])
    assert error_code(gone.value) == "NotFoundException"
    after = requests.get(video["url"], timeout=30)
    assert after.status_code != 200 and "No such remote access artifact" in after.text


def test_an_adb_phone_streams_h264_and_takes_taps_keys_rotation_text_and_apps(farm, lab, phone_dir):
    client = lab.client
    session = running_session(lab, "Pixel on USB")
    assert session["deviceUdid"] == SERIAL
    before = len(fake_adb.inputs(phone_dir))
    with viewing(session["endpoint"]) as viewer:
        viewer.pump(lambda: len(viewer.pictures) >= 20)
        config = viewer.of("config")[0]
        assert config["codec"].startswith("avc1.42"), config
        assert viewer.pictures[0][0] == 1
        # Annex B access units, one per picture: each starts with a start code.
        assert all(p[9:13] in (b"\x00\x00\x00\x01", b"\x00\x00\x01\x09") or p[9:12] == b"\x00\x00\x01"
                   for p in viewer.pictures)
        hostile = "it's; reboot && echo $(id) `id` \\ done"
        for input in [{"type": "tap", "x": 0.5, "y": 0.25},
                      {"type": "long_press", "x": 0.1, "y": 0.9, "ms": 800},
                      {"type": "swipe", "x1": 0.5, "y1": 0.8, "x2": 0.5, "y2": 0.2, "ms": 300},
                      {"type": "key", "key": "back"},
                      {"type": "text", "text": hostile},
                      {"type": "rotate", "rotation": "90"},
                      {"type": "tap", "x": 0.5, "y": 0.25}]:
            assert viewer.send(input)["type"] == "ack", input
    lines = inputs_received(phone_dir, before + 7)[before:]
    assert lines[:4] == ["input tap 540 600", "input swipe 108 2160 108 2160 800",
                         "input swipe 540 1920 540 480 300", "input keyevent KEYCODE_BACK"]
    # The text reaches the device's shell quoted: that shell hands `input text` the text
    # itself (spaces as %s), and runs nothing of it.
    assert lines[4].startswith("input text '")
    echoed = subprocess.run(["sh", "-c", "printf %s " + lines[4].removeprefix("input text ")],
                            capture_output=True, text=True, timeout=10).stdout
    assert echoed == hostile.replace(" ", "%s")
    assert shlex.split(lines[4]) == ["input", "text", hostile.replace(" ", "%s")]
    assert lines[5] == "settings put system accelerometer_rotation 0; settings put system user_rotation 1"
    # Turned a quarter: the same point of the picture is another point of the device.
    assert lines[6] == "input tap 1200 270"

    app = lab.app()
    answer = client.install_to_remote_access_session(remoteAccessSessionArn=session["arn"], appArn=app)
    assert answer["appUpload"]["arn"] == app and answer["appUpload"]["type"] == "ANDROID_APP"
    installed = wait_for(lambda: {"apks": fake_adb.installs(phone_dir)}, lambda v: len(v["apks"]) >= 1, timeout=30,
                         what="the install on the phone")["apks"]
    assert installed[-1].endswith(".apk")
    done = stopped(lab, session["arn"])
    assert done["result"] == "STOPPED"
    with pytest.raises(ClientError) as late:
        client.install_to_remote_access_session(remoteAccessSessionArn=session["arn"], appArn=app)
    assert error_code(late.value) == "ArgumentException"


def test_a_network_profile_shapes_the_phones_network_for_the_session(farm, lab, phone_dir):
    profile = lab.client.create_network_profile(
        projectArn=lab.arn, name="slow 3G", uplinkBandwidthBits=64000, uplinkDelayMs=150, uplinkJitterMs=30,
        uplinkLossPercent=2, downlinkBandwidthBits=128000, downlinkDelayMs=120, downlinkJitterMs=20,
        downlinkLossPercent=1)["networkProfile"]
    before = len(fake_adb.network(phone_dir))
    # networkProfileArn is the seed's (today's SDKs do not send it): sent raw.
    phone = device_arn(lab.client, "Pixel on USB")
    body = {"projectArn": lab.arn, "deviceArn": phone, "configuration": {"networkProfileArn": profile["arn"]}}
    made = farm.call("CreateRemoteAccessSession", body)
    assert made.status_code == 200, made.text
    session = wait_for(lambda: get(lab.client, made.json()["remoteAccessSession"]["arn"]),
                       lambda s: s["status"] == "RUNNING", timeout=30)
    applied = fake_adb.network(phone_dir)[before:]
    assert applied[0] == "tc qdisc replace dev wlan0 root netem delay 150ms 30ms loss 2% rate 64000bit", applied
    assert "tc qdisc replace dev ifb_farmhand root netem delay 120ms 20ms loss 1% rate 128000bit" in applied
    stopped(lab, session["arn"])
    undone = wait_for(lambda: {"lines": fake_adb.network(phone_dir)[before + len(applied):]},
                      lambda v: "ip link del ifb_farmhand" in v["lines"], timeout=15, what="the profile undone")
    assert undone["lines"][0] == "tc qdisc del dev wlan0 root"
    missing = {**body, "configuration": {"networkProfileArn": profile["arn"][:-3] + "abc"}}
    assert farm.call("CreateRemoteAccessSession", missing).json()["__type"] == "NotFoundException"


def test_a_device_proxy_is_the_phones_http_proxy_for_the_session(farm, lab, phone_dir):
    before = len(fake_adb.network(phone_dir))
    session = running_session(lab, "Pixel on USB", configuration={"deviceProxy": {"host": "10.0.0.5", "port": 8888}})
    assert session["deviceProxy"] == {"host": "10.0.0.5", "port": 8888}
    assert fake_adb.network(phone_dir)[before:] == ["settings put global http_proxy 10.0.0.5:8888"]
    stopped(lab, session["arn"])
    wait_for(lambda: {"lines": fake_adb.network(phone_dir)[before:]},
             lambda v: v["lines"][-1:] == ["settings put global http_proxy :0"], timeout=15, what="the proxy cleared")
    with pytest.raises(ClientError) as bad:
        lab.client.create_remote_access_session(projectArn=lab.arn, deviceArn=device_arn(lab.client, "Pixel on USB"),
                                                configuration={"deviceProxy": {"host": "a;reboot", "port": 80}})
    assert error_code(bad.value) == "ArgumentException"


def test_a_job_waits_for_the_device_a_session_holds_then_runs(farm, lab):
    client = lab.client
    session = running_session(lab, "Remote Busy")
    arn = device_arn(client, "Remote Busy")
    run = lab.web_run(lab.pool([arn]), lab.package())
    job_arn = run["arn"].replace(":run:", ":job:") + "/00000"
    waiting = wait_for(lambda: client.get_job(arn=job_arn)["job"], lambda j: j["status"] == "PENDING_DEVICE",
                       timeout=30, what="the job waiting for the device")
    assert waiting["status"] == "PENDING_DEVICE"
    # A second session on the held device waits too, and a stop ends it at once, unbilled.
    second = client.create_remote_access_session(projectArn=lab.arn, deviceArn=arn)["remoteAccessSession"]
    wait_for(lambda: get(client, second["arn"]), lambda s: s["status"] == "PENDING_DEVICE", timeout=30)
    ended = client.stop_remote_access_session(arn=second["arn"])["remoteAccessSession"]
    assert (ended["status"], ended["result"], ended["deviceMinutes"]["total"]) == ("COMPLETED", "STOPPED", 0)
    assert "started" not in ended
    stopped(lab, session["arn"])
    wait_for(lambda: client.get_job(arn=job_arn)["job"], lambda j: j["status"] not in ("PENDING", "PENDING_DEVICE"),
             timeout=30, what="the job to get the device")


def test_bad_requests_and_other_accounts_are_refused(farm, lab):
    client = lab.client

    def refused(call, **kwargs) -> str:
        with pytest.raises(ClientError) as caught:
            call(**kwargs)
        return error_code(caught.value)

    create = client.create_remote_access_session
    assert refused(create, projectArn=lab.arn, deviceArn=device_arn(client, "No Remote")) == "ArgumentException"
    missing = "arn:aws:devicefarm:us-west-2::device:00000000000000000000000000000000"
    assert refused(create, projectArn=lab.arn, deviceArn=missing) == "NotFoundException"
    devices = {d["name"]: d for d in client.list_devices()["devices"]}
    sim = devices["Remote Sim"]
    other_instance = devices["No Remote"]["instances"][0]["arn"]
    assert refused(create, projectArn=lab.arn, deviceArn=sim["arn"], instanceArn=other_instance) == "ArgumentException"
    assert refused(create, projectArn=lab.arn, deviceArn=sim["arn"], interactionMode="SIDEWAYS") == "ArgumentException"
    assert refused(client.get_remote_access_session, arn=lab.arn) == "ArgumentException"
    # The seed's members are still accepted (raw, as older SDKs send them): a session asked
    # not to be recorded leaves no video.
    raw = farm.call("CreateRemoteAccessSession", {"projectArn": lab.arn, "deviceArn": sim["arn"],
                                                   "remoteRecordEnabled": False, "clientId": "seed-client",
                                                   "configuration": {"billingMethod": "METERED"}})
    assert raw.status_code == 200, raw.text
    unrecorded = raw.json()["remoteAccessSession"]
    assert (unrecorded["remoteRecordEnabled"], unrecorded["clientId"]) == (False, "seed-client")
    bad = farm.call("CreateRemoteAccessSession", {"projectArn": lab.arn, "deviceArn": sim["arn"],
                                                   "remoteRecordEnabled": "yes"})
    assert bad.json()["__type"] == "SerializationException"
    wait_for(lambda: get(client, unrecorded["arn"]), lambda s: s["status"] == "RUNNING", timeout=30)

    other = Lab(farm, farm.create_account(unique("other")), name="other")
    for call, kwargs in [(other.client.get_remote_access_session, {"arn": unrecorded["arn"]}),
                         (other.client.stop_remote_access_session, {"arn": unrecorded["arn"]}),
                         (other.client.delete_remote_access_session, {"arn": unrecorded["arn"]}),
                         (other.client.install_to_remote_access_session,
                          {"remoteAccessSessionArn": unrecorded["arn"], "appArn": other.app()})]:
        assert refused(call, **kwargs) == "NotFoundException", call
    assert refused(other.client.list_remote_access_sessions, arn=lab.arn) == "NotFoundException"
    # The endpoint opens one session only, unaltered.
    endpoint = get(client, unrecorded["arn"])["endpoint"]
    token = endpoint.rsplit("/", 1)[1]
    forged = endpoint[: -len(token)] + token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert requests.get(forged, timeout=10).status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(forged.replace("http", "ws", 1) + "/ws", timeout=10)
    assert get(client, unrecorded["arn"])["status"] == "RUNNING", "nothing a refused caller did changed it"
    done = stopped(lab, unrecorded["arn"])
    assert client.list_artifacts(arn=done["arn"], type="FILE")["artifacts"] == []


def test_interaction_modes_show_or_take_only_what_they_say(farm, lab):
    video_only = running_session(lab, "Remote Sim", interactionMode="VIDEO_ONLY")
    with viewing(video_only["endpoint"]) as viewer:
        viewer.pump(lambda: len(viewer.pictures) >= 3)
        refused = viewer.send({"type": "tap", "x": 0.5, "y": 0.5})
        assert refused["type"] == "refused" and "VIDEO_ONLY" in refused["message"]
    stopped(lab, video_only["arn"])
    no_video = running_session(lab, "Remote Sim", interactionMode="NO_VIDEO")
    with viewing(no_video["endpoint"]) as viewer:
        assert viewer.send({"type": "tap", "x": 0.5, "y": 0.5})["type"] == "ack"
        time.sleep(1.0)
        viewer.ws.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            viewer.pump(lambda: False, timeout=2)
        assert viewer.pictures == [] and viewer.of("config") == []
    stopped(lab, no_video["arn"])


def test_unmetered_sessions_take_the_accounts_unmetered_remote_access_slots(farm):
    account = farm.create_account(unique("unmetered"))
    lab = Lab(farm, account)
    unmetered = {"configuration": {"billingMethod": "UNMETERED"}}
    # One slot per platform by default: the session runs and bills unmetered minutes.
    first = running_session(lab, "Remote Sim", **unmetered)
    assert first["billingMethod"] == "UNMETERED"
    done = stopped(lab, first["arn"])
    assert done["deviceMinutes"]["metered"] == 0 and done["deviceMinutes"]["unmetered"] == done["deviceMinutes"]["total"]
    # Without a slot (unmetered devices for jobs do not count), it waits.
    farm.manage("account", "update", account.id, "--unmetered-remote-access-devices", "ANDROID=0",
                "--unmetered-devices", "ANDROID=5")
    session = lab.client.create_remote_access_session(projectArn=lab.arn, deviceArn=device_arn(lab.client, "Remote Sim"),
                                                      **unmetered)["remoteAccessSession"]
    waiting = wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "PENDING_CONCURRENCY",
                       timeout=30, what="waiting for an unmetered remote access slot")
    assert waiting["result"] == "PENDING"
    assert lab.client.stop_remote_access_session(arn=session["arn"])["remoteAccessSession"]["status"] == "COMPLETED"


def test_a_device_that_cannot_encode_shows_screenshots(farm, lab, phone_dir):
    (phone_dir / "no-h264").touch()
    try:
        session = running_session(lab, "Pixel on USB")
        with viewing(session["endpoint"]) as viewer:
            viewer.pump(lambda: len(viewer.pictures) >= 2, timeout=30)
            assert viewer.of("config")[-1]["codec"] == "png"
            assert all(p[9:17] == b"\x89PNG\r\n\x1a\n" for p in viewer.pictures)
        stopped(lab, session["arn"])
    finally:
        (phone_dir / "no-h264").unlink()


def test_idle_sessions_end_on_the_service_clock(tmp_path):
    (tmp_path / "fleet.toml").write_text(fleet_toml([SIM]))
    (tmp_path / "farmhand.toml").write_text("[remote_access]\nidle_timeout_minutes = 2\n")
    server = Farmhand(tmp_path / "data", root_key=new_access_key(),
                      extra_args=["--fleet", str(tmp_path / "fleet.toml"), "--config", str(tmp_path / "farmhand.toml"),
                                  "--time-scale", "60"])
    with running(server) as farm:
        lab = Lab(farm)
        session = running_session(lab, "Remote Sim")
        # A viewer keeps it alive past the idle timeout (2 service minutes: 2 s here)…
        with viewing(session["endpoint"]) as viewer:
            viewer.pump(lambda: len(viewer.pictures) >= 1)
            time.sleep(3)
            assert get(lab.client, session["arn"])["status"] == "RUNNING"
        # …and without one or any input, it ends.
        done = wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "COMPLETED", timeout=30)
        assert done["result"] == "STOPPED" and "without input or a viewer" in done["message"]
        idle_seconds = (done["stopped"] - done["started"]).total_seconds()
        assert idle_seconds >= 120 + 2 * 60, idle_seconds  # the viewer's 3 s are 3 service minutes

        # Watched all along, a session still ends at the account's job timeout; its endpoint
        # then works until a minute after that, and never again.
        short = farm.create_account(unique("short"))
        farm.manage("account", "update", short.id, "--max-job-timeout-minutes", "5", "--default-job-timeout-minutes", "5")
        lab = Lab(farm, short)
        session = running_session(lab, "Remote Sim")
        with viewing(session["endpoint"]) as viewer:
            viewer.pump(lambda: bool(viewer.of("ended")), timeout=30)
        done = wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "COMPLETED", timeout=30)
        assert done["result"] == "STOPPED" and "job timeout of 5 minutes" in done["message"], done
        assert (done["stopped"] - done["started"]).total_seconds() == pytest.approx(300, abs=1)
        wait_for(lambda: {"status": requests.get(session["endpoint"], timeout=10).status_code},
                 lambda v: v["status"] == 403, timeout=30, what="the endpoint to expire")
        assert "expired" in requests.get(session["endpoint"], timeout=10).text


def test_a_lost_phone_errors_its_session(farm, lab, tmp_path, phone_dir):
    fleet = [{**PHONE, "id": "agent-pixel", "name": "Agent Pixel", "udids": ["AGENT0PIXEL"]}]
    agent = start_agent(farm, "phone-rack", fleet, tmp_path / "agent", env={"PATH": fake_adb.path_with(phone_dir)})
    try:
        agent.wait_log("connected to the server")
        arn = wait_for(lambda: {"arn": next((d["arn"] for d in lab.client.list_devices()["devices"]
                                             if d["name"] == "Agent Pixel"), None)},
                       lambda v: v["arn"] is not None, timeout=30)["arn"]
        session = lab.client.create_remote_access_session(projectArn=lab.arn, deviceArn=arn)["remoteAccessSession"]
        session = wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "RUNNING", timeout=30)
        assert session["deviceUdid"] == "AGENT0PIXEL"
        with viewing(session["endpoint"]) as viewer:
            viewer.pump(lambda: len(viewer.pictures) >= 5)
            assert viewer.send({"type": "key", "key": "power"})["type"] == "ack"
            agent.kill9()
            viewer.pump(lambda: bool(viewer.of("ended")), timeout=30)
        done = wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "COMPLETED", timeout=30)
        assert done["result"] == "ERRORED" and "device was lost" in done["message"], done
        assert done["deviceMinutes"]["total"] > 0
    finally:
        agent.stop()


def test_a_viewer_on_another_replica_sees_and_drives_the_session(tmp_path, pg_database):
    key = new_access_key()
    (tmp_path / "fleet.toml").write_text(fleet_toml([SIM]))
    replicas = [Farmhand(tmp_path / f"replica-{name}", database_url=pg_database.url, root_key=key,
                         extra_args=["--fleet", str(tmp_path / "fleet.toml"), "--blob-store", str(tmp_path / "blobs")])
                for name in ("a", "b")]
    for replica in replicas:
        replica.start()
    a, b = replicas
    try:
        lab = Lab(a)
        session = running_session(lab, "Remote Sim")
        token = session["endpoint"].rsplit("/", 1)[1]
        # Whichever replica serves the screen, a viewer of the other is relayed to it.
        for replica in (a, b):
            with viewing(f"{replica.endpoint}/remote-access/{token}") as viewer:
                viewer.pump(lambda: len(viewer.pictures) >= 5)
                assert viewer.send({"type": "tap", "x": 0.25, "y": 0.5})["type"] == "ack"
        b.client().stop_remote_access_session(arn=session["arn"])
        done = wait_for(lambda: get(lab.client, session["arn"]), lambda s: s["status"] == "COMPLETED", timeout=30)
        (log,) = lab.client.list_artifacts(arn=session["arn"], type="LOG")["artifacts"]
        taps = [json.loads(line)["input"] for line in requests.get(log["url"], timeout=30).text.splitlines()]
        assert taps == [{"type": "tap", "x": 270, "y": 1200}] * 2
        assert done["result"] == "STOPPED"
    finally:
        for replica in replicas:
            if replica.alive():
                assert replica.stop() == 0, replica.log_tail()
