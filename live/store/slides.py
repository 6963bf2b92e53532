"""Slide decks: a presenter's PDF is checked, rendered to page images once, and
the page on screen is part of the item, so every screen follows it by seq."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from live.domain.errors import DomainError
from live.domain.phases import PhaseError
from live.store import pdf_render
from live.store.models import AgendaItem

MAX_BYTES = 30 * 1024 * 1024
MAX_PAGES = pdf_render.MAX_PAGES
PAGE_WIDTH = pdf_render.PAGE_WIDTH
THUMB_WIDTH = pdf_render.THUMB_WIDTH
# The renderer child limits its own memory and CPU (live.store.pdf_render); this is its wall clock.
RENDER_TIMEOUT_S = 180

# One render at a time: this thread waits on each deck's child process.
_render_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-render")
_render_lock = threading.Lock()


class DeckError(DomainError):
    default_code = "invalid_deck"


@dataclass(frozen=True)
class RenderedDeck:
    pages: int
    directory: Path


def new_deck_key() -> str:
    return secrets.token_urlsafe(12)


def deck_name(version: int, key: str = "") -> str:
    """``<version>-<key>``: the random key makes a deck's page images unguessable. Decks
    stored before keys existed were named by their version alone; :func:`rekey_old_decks`
    gives them a key at the server's start, and such names are no longer served."""
    return f"{version}-{key}" if key else str(version)


def deck_dir(data_dir: Path, item_id: int, version: int, key: str = "") -> Path:
    return data_dir / "decks" / str(item_id) / deck_name(version, key)


def check_pdf(data: bytes) -> None:
    if not data:
        raise DeckError("文件为空")
    if len(data) > MAX_BYTES:
        raise DeckError(f"文件过大：上限 {MAX_BYTES // (1024 * 1024)} MB", code="too_large")
    if not data.lstrip()[:5] == b"%PDF-":
        raise DeckError("不是 PDF 文件：请上传由 PPT/WPS 导出的 PDF")


def _render(data: bytes, out: Path) -> int:
    """Check, then render in a child process with memory and time limits; the pages
    appear at ``out`` all at once (rendered into a temporary directory first)."""
    check_pdf(data)
    tmp = out.with_name(out.name + ".tmp")
    with _render_lock:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, mode=0o700)
        src = tmp / "upload.pdf"
        src.write_bytes(data)
        try:
            proc = subprocess.run([sys.executable, "-m", "live.store.pdf_render", str(src), str(tmp)],
                                  capture_output=True, timeout=RENDER_TIMEOUT_S,
                                  check=False, env=_child_env())
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DeckError(f"PDF 渲染超时（{RENDER_TIMEOUT_S} 秒）：文件可能已损坏，请重新导出后上传",
                            code="render_timeout") from exc
        src.unlink(missing_ok=True)
        result = _result(proc.stdout)
        if result is None or "error" in result or proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            if result is not None and "error" in result:
                raise DeckError(str(result.get("message")), code=str(result["error"]))
            if proc.returncode < 0 and -proc.returncode in (signal.SIGKILL, signal.SIGXCPU):
                raise DeckError("PDF 渲染超出时间或内存上限：文件可能已损坏或页面过大", code="render_limit")
            raise DeckError("PDF 文件已损坏，无法渲染：请重新导出后上传", code="invalid_deck")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return int(result["pages"])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _result(stdout: bytes) -> dict[str, Any] | None:
    lines = stdout.decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return None
    try:
        data = orjson.loads(lines[-1])
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


async def render_deck(data: bytes, out: Path) -> RenderedDeck:
    """Render off the event loop, serialised (pypdfium2 must not run on two threads)."""
    loop = asyncio.get_running_loop()
    pages = await loop.run_in_executor(_render_pool, _render, data, out)
    return RenderedDeck(pages, out)


def slide_fields(i: AgendaItem) -> dict[str, Any]:
    """What an item carries about its deck in the public state."""
    if not i.deck_pages:
        return {"pages": 0, "page": 0, "version": i.deck_version}
    base = f"/slides/{i.id}/{deck_name(i.deck_version, i.deck_key)}"
    return {"pages": i.deck_pages, "page": i.slide_page, "version": i.deck_version, "base": base,
            "url": f"{base}/{i.slide_page}.png"}


def set_deck(s: Session, item: AgendaItem, pages: int, version: int, key: str = "") -> None:
    item.deck_pages = pages
    item.deck_version = version
    item.deck_key = key
    item.slide_page = 1 if pages else 0
    s.add(item)


def goto(item: AgendaItem, page: int) -> None:
    if not item.deck_pages:
        raise PhaseError("该述法人尚未上传演示文稿", code="no_deck")
    if not 1 <= page <= item.deck_pages:
        raise PhaseError(f"页码应在 1 至 {item.deck_pages} 之间", code="bad_page")
    item.slide_page = page


def seed_decks(s: Session, items: list[AgendaItem], decks: list[Path], data_dir: Path) -> int:
    """Render bundled decks for a new meeting (the demo), without going through the writer:
    nobody is connected yet, and the state is read from these rows when they are."""
    done = 0
    for item, pdf in zip(items, decks, strict=False):
        if not pdf.is_file() or item.id is None:
            continue
        version, key = item.deck_version + 1, new_deck_key()
        pages = _render(pdf.read_bytes(), deck_dir(data_dir, item.id, version, key))
        set_deck(s, item, pages, version, key)
        done += 1
    return done


def rekey_old_decks(engine: Engine, data_dir: Path) -> int:
    """Give every deck stored before keys existed a random key: its page folder
    ``decks/<item>/<version>`` is renamed ``<version>-<key>`` and the row takes the key, so the
    old guessable path stops working. Keyless folders of earlier versions are removed (nothing
    names them). A start cut short between the rename and the commit is finished by the next
    start: a keyless row whose only ``<version>-<key>`` folder exists adopts that key.
    Runs before the server serves; returns how many decks were re-keyed."""
    decks = Path(data_dir) / "decks"
    done = 0
    with Session(engine) as s:
        items = s.exec(select(AgendaItem).where(col(AgendaItem.deck_pages) > 0)
                       .where(col(AgendaItem.deck_key) == "")).all()
        for item in items:
            if item.id is None:
                continue
            old = deck_dir(Path(data_dir), item.id, item.deck_version)
            if old.is_dir():
                key = new_deck_key()
                os.replace(old, deck_dir(Path(data_dir), item.id, item.deck_version, key))
            else:
                found = sorted((decks / str(item.id)).glob(f"{item.deck_version}-*"))
                if len(found) != 1 or found[0].name.endswith(".tmp"):
                    continue  # the pages are gone: the host uploads the deck again
                key = found[0].name.split("-", 1)[1]
            item.deck_key = key
            s.add(item)
            s.commit()
            done += 1
    if decks.is_dir():
        for folder in decks.iterdir():
            for stale in (folder.iterdir() if folder.is_dir() else ()):
                if stale.is_dir() and stale.name.isdigit():
                    shutil.rmtree(stale, ignore_errors=True)
    return done
