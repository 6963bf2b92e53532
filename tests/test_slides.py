"""Slide decks: checked upload, rendering off the loop, page turns by seq, page images, printables."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from starlette.testclient import TestClient

from conftest import ROOT, Conn, Seed, login, open_ws
from live.config import Settings
from live.store.slides import DeckError, check_pdf
from live.web.app import create_app

DECK = (ROOT / "assets" / "slides" / "deck-1.pdf").read_bytes()


def upload(client: TestClient, seed: Seed, item_id: int, data: bytes, name: str = "deck.pdf") -> dict:
    r = client.post(f"/api/meetings/{seed.code}/items/{item_id}/slides",
                    files={"file": (name, data, "application/pdf")})
    return {"status": r.status_code, **r.json()}


def test_check_pdf_refuses_non_pdfs() -> None:
    with pytest.raises(DeckError, match="不是 PDF"):
        check_pdf(b"PK\x03\x04 a pptx")
    with pytest.raises(DeckError, match="为空"):
        check_pdf(b"")
    check_pdf(DECK)


def test_upload_turn_pages_and_late_joiner(client: TestClient, seed: Seed, tmp_path: Path) -> None:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    item = h.state["items"][0]["id"]
    assert h.state["items"][0]["slides"]["pages"] == 0
    bad = upload(client, seed, item, b"not a pdf at all")
    assert bad["status"] == 400 and "PDF" in bad["error"]["message"]
    broken = upload(client, seed, item, b"%PDF-1.7\n garbage")
    assert broken["status"] == 400 and broken["error"]["code"] == "invalid_deck"
    ok = upload(client, seed, item, DECK)
    assert ok["status"] == 200 and ok["pages"] == 6 and ok["version"] == 1
    ev = h.expect(lambda m: m["type"] == "item.updated" and m["cause"] == "slides")["item"]["slides"]
    base = ev["base"]  # /slides/ITEM/1-<random key>: page images cannot be guessed
    assert re.fullmatch(rf"/slides/{item}/1-[A-Za-z0-9_-]{{16}}", base)
    assert ev == {"pages": 6, "page": 1, "version": 1, "base": base, "url": f"{base}/1.png"}
    assert client.get(f"/slides/{item}/1/1.png").status_code == 404
    png = client.get(ev["url"])
    assert png.status_code == 200 and "immutable" in png.headers["cache-control"]
    assert Image.open(io.BytesIO(png.content)).size[0] == 1600
    assert client.get(f"{base}/6.thumb.png").status_code == 200
    assert client.get(f"{base}/7.png").status_code == 404
    assert client.get(f"{base}/..%2F..%2Fsecret.key").status_code == 404
    # The presenter view turns pages; every screen follows by seq.
    presenter = Conn(open_ws(client, f"/ws/{seed.code}?role=presenter"))
    screen = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    assert presenter.cmd("slide.goto", item_id=item, page=3)["page"] == 3
    turned = screen.expect(lambda m: m["type"] == "item.updated" and m["cause"] == "slide")
    assert turned["item"]["slides"]["page"] == 3
    assert presenter.cmd("slide.goto", item_id=item, page=7)["code"] == "bad_page"
    assert presenter.cmd("item.advance", item_id=item)["code"] == "forbidden"
    phone = Conn(open_ws(client, f"/ws/{seed.code}?role=audience",
                         headers={"cookie": f"live_dev={seed.device_cookie('device-slides-1')}"}))
    assert phone.cmd("slide.goto", item_id=item, page=2)["code"] == "forbidden"
    late = Conn(open_ws(client, f"/ws/{seed.code}?role=screen"))
    assert late.item(item)["slides"]["page"] == 3
    assert h.cmd("slide.goto", item_id=h.state["items"][1]["id"], page=1)["code"] == "no_deck"
    # A new deck replaces the old one and starts at page 1.
    again = upload(client, seed, item, DECK)
    assert again["version"] == 2
    assert screen.expect(lambda m: m["type"] == "item.updated" and m["cause"] == "slides")["item"]["slides"][
        "page"] == 1


def test_upload_needs_the_host(client: TestClient, seed: Seed) -> None:
    r = client.post(f"/api/meetings/{seed.code}/items/1/slides", files={"file": ("d.pdf", DECK, "application/pdf")})
    assert r.status_code == 401


def test_stream_url(client: TestClient, seed: Seed) -> None:
    login(client, seed)
    h = Conn(open_ws(client, f"/ws/{seed.code}?role=host"))
    assert h.cmd("meeting.stream", url="javascript:alert(1)")["code"] == "invalid"
    assert h.cmd("meeting.stream", url="https://live.example.cn/zw/index.m3u8")["type"] == "ack"
    ev = h.expect(lambda m: m["type"] == "meeting.updated" and m["cause"] == "stream")
    assert ev["meeting"]["stream_url"] == "https://live.example.cn/zw/index.m3u8"
    assert h.cmd("meeting.stream", url=None)["stream_url"] is None


def _pdf_text_and_qrs(pdf: bytes) -> tuple[str, list[str]]:
    doc = pdfium.PdfDocument(pdf)
    text, codes = "", []
    for page in doc:
        text += page.get_textpage().get_text_range()
        img = page.render(scale=2).to_pil()
        codes += [r.text for r in zxingcpp.read_barcodes(img)]
    return text, codes


def test_printables_carry_names_and_working_qr_codes(client: TestClient, seed: Seed) -> None:
    assert client.get(f"/api/meetings/{seed.code}/print/panel-cards.pdf").status_code == 401
    login(client, seed)
    cards = client.get(f"/api/meetings/{seed.code}/print/panel-cards.pdf")
    assert cards.headers["content-type"] == "application/pdf"
    text, codes = _pdf_text_and_qrs(cards.content)
    assert "张立华" in text and "行业群众代表" in text
    assert len(codes) == 9 and all(c.startswith(f"http://testserver/p/{seed.code}#t=") for c in codes)
    token = codes[0].split("#t=", 1)[1]
    assert client.post("/api/panel/claim", json={"token": token}).json()["code"] == seed.code
    poster = client.get(f"/api/meetings/{seed.code}/print/join-poster.pdf")
    text, codes = _pdf_text_and_qrs(poster.content)
    assert "扫码参与" in text and " ".join(seed.code) in text
    assert codes == [f"http://testserver/j/{seed.code}"]


def test_an_old_keyless_deck_is_rekeyed_at_start(settings: Settings) -> None:
    """A deck stored before slide keys (``decks/<item>/<version>/``, ``deck_key`` empty) gets a random
    key when the server starts; the old guessable path is no longer served (issue 13)."""
    from sqlmodel import Session

    from conftest import seed_meeting
    from live.store.db import make_engine
    from live.store.models import AgendaItem

    seed = seed_meeting(settings)
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        item = s.get(AgendaItem, 1)
        assert item is not None
        item.deck_pages, item.deck_version, item.deck_key, item.slide_page = 2, 3, "", 1
        s.add(item)
        s.commit()
    old = settings.data_dir / "decks" / "1" / "3"
    old.mkdir(parents=True)
    for name in ("1.png", "2.png", "1.thumb.png"):
        (old / name).write_bytes(b"\x89PNG old page " + name.encode())
    earlier = settings.data_dir / "decks" / "1" / "2"  # an earlier keyless version: nothing names it
    earlier.mkdir()
    (earlier / "1.png").write_bytes(b"\x89PNG stale")
    with TestClient(create_app(settings)) as client:
        with Session(engine) as s:
            item = s.get(AgendaItem, 1)
            assert item is not None and len(item.deck_key) == 16
            key = item.deck_key
        assert client.get("/slides/1/3/1.png").status_code == 404
        assert client.get("/slides/1/2/1.png").status_code == 404
        assert not old.exists() and not earlier.exists()
        r = client.get(f"/slides/1/3-{key}/2.png")
        assert r.status_code == 200 and r.content == b"\x89PNG old page 2.png"
        with client.websocket_connect(f"/ws/{seed.code}?role=screen") as ws:
            snap = next(m for m in iter(ws.receive_json, None) if m["type"] == "snapshot")
        slides = next(i for i in snap["state"]["items"] if i["id"] == 1)["slides"]
        assert slides["url"] == f"/slides/1/3-{key}/1.png"
    engine.dispose()
