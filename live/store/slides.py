"""Slide decks: a presenter's PDF is checked, rendered to page images once, and
the page on screen is part of the item, so every screen follows it by seq."""

from __future__ import annotations

import asyncio
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from live.domain.errors import DomainError
from live.domain.phases import PhaseError
from live.store.models import AgendaItem

MAX_BYTES = 30 * 1024 * 1024
MAX_PAGES = 150
PAGE_WIDTH = 1600
THUMB_WIDTH = 240

# pypdfium2 is not thread-safe: one thread renders, one deck at a time.
_render_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-render")
_render_lock = threading.Lock()


class DeckError(DomainError):
    default_code = "invalid_deck"


@dataclass(frozen=True)
class RenderedDeck:
    pages: int
    directory: Path


def deck_dir(data_dir: Path, item_id: int, version: int) -> Path:
    return data_dir / "decks" / str(item_id) / str(version)


def check_pdf(data: bytes) -> None:
    if not data:
        raise DeckError("文件为空")
    if len(data) > MAX_BYTES:
        raise DeckError(f"文件过大：上限 {MAX_BYTES // (1024 * 1024)} MB", code="too_large")
    if not data.lstrip()[:5] == b"%PDF-":
        raise DeckError("不是 PDF 文件：请上传由 PPT/WPS 导出的 PDF")


def _render(data: bytes, out: Path) -> int:
    import pypdfium2 as pdfium

    check_pdf(data)
    with _render_lock:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise DeckError("PDF 文件已损坏或加密，无法读取") from exc
        try:
            n = len(pdf)
            if n == 0:
                raise DeckError("PDF 没有页面")
            if n > MAX_PAGES:
                raise DeckError(f"页数过多：{n} 页，上限 {MAX_PAGES} 页", code="too_many_pages")
            tmp = out.with_name(out.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for i in range(n):
                page = pdf[i]
                width = page.get_width() or 1
                image = page.render(scale=PAGE_WIDTH / width).to_pil().convert("RGB")
                image.save(tmp / f"{i + 1}.png", optimize=True)
                thumb = image.copy()
                thumb.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
                thumb.save(tmp / f"{i + 1}.thumb.png", optimize=True)
                page.close()
        finally:
            pdf.close()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return n


async def render_deck(data: bytes, out: Path) -> RenderedDeck:
    """Render off the event loop, serialised (pypdfium2 must not run on two threads)."""
    loop = asyncio.get_running_loop()
    pages = await loop.run_in_executor(_render_pool, _render, data, out)
    return RenderedDeck(pages, out)


def slide_fields(i: AgendaItem) -> dict[str, Any]:
    """What an item carries about its deck in the public state."""
    if not i.deck_pages:
        return {"pages": 0, "page": 0, "version": i.deck_version}
    return {"pages": i.deck_pages, "page": i.slide_page, "version": i.deck_version,
            "url": f"/slides/{i.id}/{i.deck_version}/{i.slide_page}.png"}


def set_deck(s: Session, item: AgendaItem, pages: int, version: int) -> None:
    item.deck_pages = pages
    item.deck_version = version
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
        version = item.deck_version + 1
        pages = _render(pdf.read_bytes(), deck_dir(data_dir, item.id, version))
        set_deck(s, item, pages, version)
        done += 1
    return done
