"""The live stream plays in every browser: natively where the browser has HLS, else through the
vendored hls.js (Media Source Extensions), with a poster until the picture starts.

The stream is made here, in Python (no ffmpeg): a few seconds of silent AAC in MPEG-TS segments
behind an HLS playlist, served by the test to the browser through Playwright's routing at an
https address (what a venue's CDN would give). Debian's Chromium now plays HLS itself, so the
hls.js path is tested with the native player hidden (``canPlayType`` answers "" for HLS, as in
Firefox or an older desktop Chrome), and the native path with the browser as it is.
"""
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

# The browser, server and device fixtures of test_pages (imported, so the tests below redefine their names).
from test_pages import ROOT, Devices, Live, browser, devices, live_server, shot  # noqa: F401
from test_pages import pytestmark as BROWSER_MARKS


def in_browser(test: Any) -> Any:
    """The marks of test_pages' browser tests: browser, slow, skipped without Debian's chromium."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


VENDOR = ROOT / "frontend" / "vendor" / "hls.js"
HLS_MODULE = "/static/vendor/hls.js/hls.light.min.mjs"
STREAM_URL = "https://stream.example.test/live/index.m3u8"

# ---- a tiny HLS stream: silent AAC-LC, mono 44.1 kHz, in MPEG-TS ------------------------------------


SAMPLE_RATE = 44100
FREQ_INDEX = {96000: 0, 88200: 1, 64000: 2, 48000: 3, 44100: 4, 32000: 5, 24000: 6, 22050: 7}
SAMPLES_PER_FRAME = 1024
PMT_PID, AUDIO_PID = 0x1000, 0x101
FIRST_PTS = 90_000  # any start works; 1 s leaves room for a player's offsets


def pack_bits(fields: list[tuple[int, int]]) -> bytes:
    """(value, width) pairs, most significant bit first, zero-padded to whole bytes."""
    acc = n = 0
    for value, width in fields:
        assert 0 <= value < (1 << width), (value, width)
        acc, n = (acc << width) | value, n + width
    pad = -n % 8
    return (acc << pad).to_bytes((n + pad) // 8, "big")


def silent_aac_frame() -> bytes:
    """One raw AAC-LC frame of a mono channel with no spectral data: 1024 samples of silence."""
    return pack_bits([
        (0, 3), (0, 4),  # single_channel_element, instance 0
        (100, 8),  # global_gain (no band uses it)
        (0, 1), (0, 2), (0, 1), (0, 6), (0, 1),  # ics_info: long window, max_sfb 0, no prediction
        (0, 1), (0, 1), (0, 1),  # no pulse, TNS or gain control data
        (7, 3),  # end element
    ])


def adts(payload: bytes) -> bytes:
    return pack_bits([
        (0xFFF, 12), (0, 1), (0, 2), (1, 1),  # sync word, MPEG-4, layer 0, no CRC
        (1, 2), (FREQ_INDEX[SAMPLE_RATE], 4), (0, 1), (1, 3),  # AAC LC, rate, mono
        (0, 1), (0, 1), (0, 1), (0, 1),
        (7 + len(payload), 13), (0x7FF, 11), (0, 2),  # frame length, VBR fullness, one block
    ]) + payload


def crc32_mpeg(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def psi_section(table_id: int, table_ext: int, body: bytes) -> bytes:
    length = 5 + len(body) + 4  # the fields after section_length, the body and the CRC
    head = pack_bits([(table_id, 8), (1, 1), (0, 1), (3, 2), (length, 12), (table_ext, 16),
                      (3, 2), (0, 5), (1, 1), (0, 8), (0, 8)])
    section = head + body
    return section + crc32_mpeg(section).to_bytes(4, "big")


def pes(pts: int, data: bytes) -> bytes:
    pts_bytes = pack_bits([(0b0010, 4), (pts >> 30 & 0x7, 3), (1, 1), (pts >> 15 & 0x7FFF, 15), (1, 1),
                           (pts & 0x7FFF, 15), (1, 1)])
    header = bytes([0x80, 0x80, len(pts_bytes)]) + pts_bytes
    return b"\x00\x00\x01\xc0" + (len(header) + len(data)).to_bytes(2, "big") + header + data


class Muxer:
    """188-byte transport packets with a continuity counter per PID."""

    def __init__(self) -> None:
        self.cc: dict[int, int] = {}

    def packets(self, pid: int, payload: bytes, pcr: int | None = None) -> bytes:
        out = bytearray()
        first = True
        while first or payload:
            adapt: bytes | None = None  # the adaptation field after its length byte; None: no field
            if first and pcr is not None:
                adapt = bytes([0x10]) + pack_bits([(pcr, 33), (0x3F, 6), (0, 9)])
            room = 184 - (0 if adapt is None else 1 + len(adapt))
            if len(payload) < room:  # the last packet: stuff it through the adaptation field
                need = 184 - len(payload) - 1  # bytes after the length byte
                adapt = adapt if adapt is not None else (b"\x00" if need else b"")
                adapt += b"\xff" * (need - len(adapt))
                room = len(payload)
            chunk, payload = payload[:room], payload[room:]
            cc = self.cc.get(pid, 0)
            self.cc[pid] = (cc + 1) % 16
            header = pack_bits([(0x47, 8), (0, 1), (1 if first else 0, 1), (0, 1), (pid, 13),
                                (0, 2), (1 if adapt is None else 3, 2), (cc, 4)])
            field = b"" if adapt is None else bytes([len(adapt)]) + adapt
            packet = header + field + chunk
            assert len(packet) == 188, len(packet)
            out += packet
            first = False
        return bytes(out)

    def segment(self, first_frame: int, frames: int, per_pes: int = 8) -> bytes:
        pat = psi_section(0x00, 1, pack_bits([(1, 16), (7, 3), (PMT_PID, 13)]))
        pmt = psi_section(0x02, 1, pack_bits([(7, 3), (AUDIO_PID, 13), (15, 4), (0, 12),
                                              (0x0F, 8), (7, 3), (AUDIO_PID, 13), (15, 4), (0, 12)]))
        out = bytearray()
        for pid, section in ((0, pat), (PMT_PID, pmt)):
            out += self.packets(pid, b"\x00" + section + b"\xff" * (183 - len(section)))
        frame = adts(silent_aac_frame())
        for n in range(first_frame, first_frame + frames, per_pes):
            count = min(per_pes, first_frame + frames - n)
            pts = FIRST_PTS + n * SAMPLES_PER_FRAME * 90_000 // SAMPLE_RATE
            out += self.packets(AUDIO_PID, pes(pts, frame * count), pcr=pts if n == first_frame else None)
        return bytes(out)


def write_hls(folder: Path, segments: int = 3, seconds: float = 2.0) -> Path:
    """``index.m3u8`` and ``seg0.ts`` … in ``folder``: a finished (VOD) playlist of silent audio."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = round(seconds * SAMPLE_RATE / SAMPLES_PER_FRAME)
    mux = Muxer()
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{round(seconds)}", "#EXT-X-MEDIA-SEQUENCE:0"]
    for i in range(segments):
        (folder / f"seg{i}.ts").write_bytes(mux.segment(i * frames, frames))
        lines += [f"#EXTINF:{frames * SAMPLES_PER_FRAME / SAMPLE_RATE:.3f},", f"seg{i}.ts"]
    lines.append("#EXT-X-ENDLIST")
    playlist = folder / "index.m3u8"
    playlist.write_text("\n".join(lines) + "\n")
    return playlist


def test_the_generated_stream_is_well_formed(tmp_path: Path) -> None:
    assert hex(crc32_mpeg(b"123456789")) == "0x376e6e7"  # the CRC-32/MPEG-2 check value
    playlist = write_hls(tmp_path)
    text = playlist.read_text()
    assert text.startswith("#EXTM3U\n") and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert re.findall(r"seg\d\.ts", text) == ["seg0.ts", "seg1.ts", "seg2.ts"]
    data = (tmp_path / "seg0.ts").read_bytes()
    assert len(data) % 188 == 0 and all(data[i] == 0x47 for i in range(0, len(data), 188))
    assert adts(silent_aac_frame())[:2] == b"\xff\xf1"  # ADTS sync word, MPEG-4, no CRC


# ---- the vendored library -------------------------------------------------------------------------------

def test_hls_js_is_vendored_pinned_and_licensed() -> None:
    """frontend/vendor/hls.js holds the file deploy/vendor-refresh.sh wrote for the pinned version."""
    info = dict(line.split(" ", 1) for line in (VENDOR / "VERSION").read_text().splitlines())
    script = (ROOT / "deploy" / "vendor-refresh.sh").read_text()
    version = re.search(r'HLS_VERSION:-([0-9.]+)}', script)
    tarball_sha = re.search(r'HLS_SHA256:-([0-9a-f]{64})}', script)
    assert version and tarball_sha
    assert info["hls.js"].startswith(f"{version[1]} (Apache-2.0)")
    assert info["tarball-sha256"] == tarball_sha[1]
    module = (VENDOR / "hls.light.min.mjs").read_bytes()
    assert hashlib.sha256(module).hexdigest() == info["file-sha256"], "the vendored hls.js was changed by hand"
    assert b"export" in module[-2000:]  # an ES module, with its default export at the end
    assert "Apache License" in (VENDOR / "LICENSE").read_text()


# ---- in the browser ------------------------------------------------------------------------------------

def set_stream(srv: Live, url: str | None) -> None:
    """The host sets the meeting's stream address over its socket, as the console does."""
    from websockets.sync.client import connect

    cookie = httpx.post(f"{srv.base}/api/meetings/{srv.code}/login", json={"password": srv.password}).cookies
    with connect(f"{srv.base.replace('http://', 'ws://')}/ws/{srv.code}?role=host",
                 additional_headers={"Cookie": f"live_host={cookie['live_host']}"}) as ws:
        ws.send(json.dumps({"id": "s-1", "type": "meeting.stream", "url": url}))
        while True:
            msg = json.loads(ws.recv(timeout=15))
            if msg.get("id") == "s-1" and msg["type"] in ("ack", "error"):
                assert msg["type"] == "ack", msg
                return


class StreamHost:
    """Answers the browser's requests for STREAM_URL's folder from files; segments can be held back."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hold_segments = True
        self.held: list[Route] = []
        self.requests: list[str] = []

    def handle(self, route: Route) -> None:
        name = route.request.url.rsplit("/", 1)[1].split("?")[0]
        self.requests.append(name)
        if name.endswith(".ts") and self.hold_segments:
            self.held.append(route)  # answered later: the poster shows meanwhile
            return
        self.answer(route, name)

    def answer(self, route: Route, name: str) -> None:
        path = self.folder / name
        if not path.is_file():
            route.fulfill(status=404, body="")
            return
        kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
        route.fulfill(status=200, body=path.read_bytes(),
                      headers={"Content-Type": kind, "Access-Control-Allow-Origin": "*"})

    def release(self) -> None:
        self.hold_segments = False
        held, self.held = self.held, []
        for route in held:
            self.answer(route, route.request.url.rsplit("/", 1)[1])

    def setup(self, *, native: bool) -> Callable[[BrowserContext], None]:
        def run(ctx: BrowserContext) -> None:
            if not native:
                ctx.add_init_script(NO_NATIVE_HLS)
            ctx.route(re.compile(r"^https://stream\.example\.test/live/"), self.handle)
        return run


# A browser without HLS of its own (Firefox, desktop Chrome before it had it): the page must use hls.js.
NO_NATIVE_HLS = """(() => {
  const real = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(String(type)) ? "" : real.call(this, type);
  };
})();"""

VIDEO = ".stream-box video"


def video_state(page: Page) -> dict[str, Any]:
    return page.locator(VIDEO).evaluate(
        "v => ({readyState: v.readyState, time: v.currentTime, engine: v.dataset.engine,"
        " manifest: v.dataset.manifest || null, poster: v.getAttribute('poster'),"
        " src: v.currentSrc, error: v.error && v.error.message})")


@in_browser
@pytest.mark.timeout(120)
def test_hls_js_plays_the_stream_where_the_browser_cannot(
        live_server: Live, devices: Devices, tmp_path: Path) -> None:
    srv = live_server
    host = StreamHost(tmp_path / "hls")
    write_hls(host.folder)
    set_stream(srv, STREAM_URL)
    pc = devices.open("pc", f"/j/{srv.code}", 1280, 800, setup=host.setup(native=False))
    video = pc.locator(VIDEO)
    expect(video).to_have_attribute("data-engine", "hls.js")
    # hls.js came from this site, only now that it is needed
    pc.wait_for_function("src => performance.getEntriesByType('resource').some(e => e.name.endsWith(src))",
                         arg=HLS_MODULE)
    # the playlist is read (MANIFEST_PARSED); the segments are held back: the poster shows
    expect(video).to_have_attribute("data-manifest", "parsed")
    poster = pc.locator(".stream-poster")
    expect(poster).to_be_visible()
    title = srv.query("SELECT title FROM meeting")[0][0]
    expect(poster.locator(".stream-poster-title")).to_have_text(title)
    state = video_state(pc)
    assert state["poster"] == "/static/audience/stream-poster.svg" and state["readyState"] == 0, state
    assert httpx.get(srv.base + state["poster"]).status_code == 200
    shot(pc, "stream-poster-hlsjs", full=False)
    assert host.held, host.requests  # the first segment was asked for
    # the segments arrive: the element gets data and plays, and the poster goes
    host.release()
    pc.wait_for_function(f"() => document.querySelector('{VIDEO}').readyState >= 2", timeout=20_000)
    expect(poster).to_be_hidden(timeout=20_000)
    pc.wait_for_function(f"() => document.querySelector('{VIDEO}').currentTime > 0.5", timeout=20_000)
    state = video_state(pc)
    assert state["src"].startswith("blob:") and state["error"] is None, state  # MSE, not the address itself
    assert "seg1.ts" in host.requests, host.requests
    shot(pc, "stream-playing-hlsjs", full=False)
    assert not devices.problems, devices.problems
    srv.assert_no_server_errors()


@in_browser
@pytest.mark.timeout(120)
def test_native_hls_plays_the_stream_without_hls_js(
        live_server: Live, devices: Devices, tmp_path: Path) -> None:
    srv = live_server
    host = StreamHost(tmp_path / "hls")
    host.hold_segments = False
    write_hls(host.folder)
    set_stream(srv, STREAM_URL)
    phone = devices.open("phone", f"/j/{srv.code}", 390, 844, phone=True, setup=host.setup(native=True))
    native = phone.evaluate("() => document.createElement('video').canPlayType('application/vnd.apple.mpegurl')")
    if not native:
        pytest.skip("this Chromium has no HLS of its own; the hls.js test covers it")
    expect(phone.locator(VIDEO)).to_have_attribute("data-engine", "native")
    phone.wait_for_function(f"() => document.querySelector('{VIDEO}').readyState >= 2", timeout=20_000)
    expect(phone.locator(".stream-poster")).to_be_hidden(timeout=20_000)
    state = video_state(phone)
    assert state["src"] == STREAM_URL and state["error"] is None, state
    loaded = phone.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert not any(HLS_MODULE in n for n in loaded), "hls.js loaded although the browser plays HLS itself"
    shot(phone, "stream-playing-native", full=False)
    assert not devices.problems, devices.problems
