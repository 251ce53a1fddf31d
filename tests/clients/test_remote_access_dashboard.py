"""Remote access in the dashboard, in a real Chromium (playwright-core): a person starts a
session from the devices page, sees the phone's screen live (H.264 decoded by WebCodecs),
clicks and types on it, and stops it, at a phone's width; the fake `adb` shows exactly
what reached the phone."""

from __future__ import annotations

from pathlib import Path

import pytest

import fake_adb
from harness import running
from simfarm import Lab, device, wait_for
from test_dashboard import browser, sign_in  # noqa: F401 (browser: the module's Chromium fixture)

SERIAL = "FAKE0PIXEL02"
PHONE = {**device("pixel-desk", "Desk Pixel"), "remote_access_enabled": True, "driver": "adb", "udids": [SERIAL]}
PHONE_WIDTH = 390

CANVAS_DIGEST = """() => {
  const c = document.getElementById('screen');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let sum = 0, distinct = new Set();
  for (let i = 0; i < d.length; i += 397) { sum = (sum * 31 + d[i]) % 1000000007; distinct.add(d[i]); }
  return {sum, distinct: distinct.size, painted: window.farmhandRemote.painted};
}"""


@pytest.fixture(scope="module")
def phone_dir(tmp_path_factory) -> Path:
    return fake_adb.make(tmp_path_factory.mktemp("fake-adb"), SERIAL)


@pytest.fixture(scope="module")
def farm(tmp_path_factory, phone_dir):
    with running(fake_adb.farm(tmp_path_factory.mktemp("remote-dashboard"), phone_dir, [PHONE])) as started:
        yield started


def lines_after(phone_dir: Path, before: int, count: int) -> list[str]:
    return wait_for(lambda: {"lines": [c for _, c in fake_adb.inputs(phone_dir)][before:]},
                    lambda v: len(v["lines"]) >= count, timeout=15, what=f"{count} more shell lines")["lines"]


def test_a_person_drives_a_phone_from_the_dashboard_at_a_phones_width(farm, browser, phone_dir):
    lab = Lab(farm, name="desk")
    page = browser.page("remote", context="remote", width=PHONE_WIDTH, height=800)
    assert sign_in(page, farm)["status"] == 200
    assert page.goto(farm.endpoint + "/ui/devices")["status"] == 200
    landed = page.click("tr.device form.start-session button", navigate=True)
    assert landed["status"] == 200 and "/ui/sessions/" in landed["url"], landed
    (session,) = lab.client.list_remote_access_sessions(arn=lab.arn)["remoteAccessSessions"]

    # The screen: painted, not blank, and moving.
    page.wait("() => window.farmhandRemote && window.farmhandRemote.painted >= 10", timeout=30)
    assert page.eval("() => window.farmhandRemote.codec").startswith("avc1.")
    first = page.eval(CANVAS_DIGEST)
    assert first["distinct"] > 8, "the canvas is not blank"
    page.wait("(before) => window.farmhandRemote.painted > before + 10", first["painted"], timeout=15)
    assert page.eval(CANVAS_DIGEST)["sum"] != first["sum"], "the picture changes"
    # At a phone's width nothing scrolls sideways and the screen fits.
    fits = page.eval("""() => ({page: document.documentElement.scrollWidth, view: window.innerWidth,
                                canvas: document.getElementById('screen').getBoundingClientRect().right})""")
    assert fits["page"] <= fits["view"] and fits["canvas"] <= fits["view"], fits
    assert page.text("#session-status") == "RUNNING"

    # A click at a point of the picture is a tap at the same point of the phone.
    box = page.eval("() => { const r = document.getElementById('screen').getBoundingClientRect();"
                    " return {w: r.width, h: r.height}; }")
    before = len(fake_adb.inputs(phone_dir))
    x, y = box["w"] * 0.3, box["h"] * 0.7
    page.click_at("#screen", x, y)
    (tap,) = lines_after(phone_dir, before, 1)
    words = tap.split()
    assert words[:2] == ["input", "tap"], tap
    # Within one CSS pixel of the click (the browser places a click to the pixel): a device
    # pixel is 1080 / width of them across.
    per_css_x, per_css_y = 1080 / box["w"], 2400 / box["h"]
    assert abs(int(words[2]) - 0.3 * 1080) <= per_css_x + 1, (tap, box)
    assert abs(int(words[3]) - 0.7 * 2400) <= per_css_y + 1, (tap, box)

    # Keys typed on the screen, a device key, and text sent from the field.
    before = len(fake_adb.inputs(phone_dir))
    page.type("ok")
    page.click("button[data-key='home']")
    page.fill("#remote-text-input", "hello phone")
    page.click("#remote-text button")
    lines = lines_after(phone_dir, before, 4)
    assert lines == ["input text 'o'", "input text 'k'", "input keyevent KEYCODE_HOME", "input text 'hello%sphone'"]
    page.wait("() => window.farmhandRemote.acks >= 5", timeout=10)

    # The stop button ends the session; the page then shows it COMPLETED with its video.
    page.click("#remote-stop", navigate=True)
    page.wait("() => { const s = document.querySelector('#session-status');"
              " return s && s.textContent.trim() === 'COMPLETED'; }", timeout=30)
    done = lab.client.get_remote_access_session(arn=session["arn"])["remoteAccessSession"]
    assert (done["status"], done["result"]) == ("COMPLETED", "STOPPED")
    assert page.exists("video#session-video")


def test_from_another_machine_over_http_the_screen_plays_as_fragmented_mp4(farm, browser, phone_dir):
    """An origin that is not localhost, over plain http (another machine's view of the
    dashboard): Chromium offers no WebCodecs there, so the page asks for fragmented MP4 and
    plays it through Media Source Extensions; input works the same."""
    lab = Lab(farm, name="far")
    arn = lab.client.list_devices()["devices"][0]["arn"]
    made = lab.client.create_remote_access_session(projectArn=lab.arn, deviceArn=arn)["remoteAccessSession"]
    session = wait_for(lambda: lab.client.get_remote_access_session(arn=made["arn"])["remoteAccessSession"],
                       lambda s: s["status"] == "RUNNING", timeout=30)
    far = session["endpoint"].replace("127.0.0.1", "farmhand.test", 1)
    assert far != session["endpoint"]
    page = browser.page("far", context="far")
    assert page.goto(far)["status"] == 200
    assert page.eval("() => [window.isSecureContext, 'VideoDecoder' in window, 'MediaSource' in window]") == [
        False, False, True]
    page.wait("() => window.farmhandRemote && window.farmhandRemote.painted >= 10", timeout=30)
    assert page.eval("() => window.farmhandRemote.container") == "fmp4"
    assert page.eval("() => { const v = document.getElementById('screen-video'); "
                     "return v && !v.paused && v.videoWidth > 0; }")
    before = len(fake_adb.inputs(phone_dir))
    box = page.eval("() => { const r = document.getElementById('screen-video').getBoundingClientRect();"
                    " return {w: r.width, h: r.height}; }")
    page.click_at("#screen-video", box["w"] * 0.5, box["h"] * 0.5)
    (tap,) = lines_after(phone_dir, before, 1)
    _, _, x, y = tap.split()
    assert abs(int(x) - 540) <= 1080 / box["w"] + 1 and abs(int(y) - 1200) <= 2400 / box["h"] + 1, tap
    page.click("#remote-stop")
    done = wait_for(lambda: lab.client.get_remote_access_session(arn=made["arn"])["remoteAccessSession"],
                    lambda s: s["status"] == "COMPLETED", timeout=30)
    assert done["result"] == "STOPPED"
