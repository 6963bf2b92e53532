"""Renders a PDF's pages to PNG images in a child process (``python -m live.store.pdf_render``).

The child runs under an address-space limit and a CPU-time limit, and each page is
scaled so that it has at most ``MAX_PIXELS`` pixels and no side over ``MAX_SIDE``: a
tiny PDF with a 10 × 400 pt page cannot make the server allocate gigabytes, and a
PDF that crashes or hangs pdfium takes down only the child.

Protocol: ``python -m live.store.pdf_render IN.pdf OUTDIR`` writes ``N.png`` and
``N.thumb.png`` into OUTDIR and prints one JSON line, ``{"pages": n, "sizes": [[w, h], …]}``
or ``{"error": code, "message": text}`` (then exits 3)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import orjson

PAGE_WIDTH = 1600
THUMB_WIDTH = 240
MAX_PIXELS = 4_000_000  # per rendered page: 1600 × 2500
MAX_SIDE = 4000
MAX_PAGES = 150
# The child's own limits, set before it imports pdfium: address space (pdfium, Python
# and one page's bitmap) and CPU seconds. The parent also kills it after a wall-clock timeout.
MEMORY_BYTES = 1024 * 1024 * 1024
CPU_SECONDS = 120


def limit_self(memory_bytes: int = MEMORY_BYTES, cpu_s: int = CPU_SECONDS) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def page_scale(width_pt: float, height_pt: float) -> float:
    """Points to pixels: 1600 px wide, unless that breaks the pixel or side cap."""
    w, h = max(width_pt, 1.0), max(height_pt, 1.0)
    scale = PAGE_WIDTH / w
    scale = min(scale, math.sqrt(MAX_PIXELS / (w * h)), MAX_SIDE / max(w, h))
    return max(scale, 0.01)


def render(src: Path, out: Path) -> dict[str, Any]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(src)
    except pdfium.PdfiumError as exc:
        return {"error": "invalid_deck", "message": f"PDF 文件已损坏或加密，无法读取（{exc}）"}
    sizes: list[list[int]] = []
    try:
        n = len(pdf)
        if n == 0:
            return {"error": "invalid_deck", "message": "PDF 没有页面"}
        if n > MAX_PAGES:
            return {"error": "too_many_pages", "message": f"页数过多：{n} 页，上限 {MAX_PAGES} 页"}
        for i in range(n):
            try:
                page = pdf[i]
                scale = page_scale(page.get_width(), page.get_height())
                image = page.render(scale=scale).to_pil().convert("RGB")
            except (pdfium.PdfiumError, ValueError, OSError) as exc:
                return {"error": "invalid_deck", "message": f"PDF 第 {i + 1} 页已损坏，无法显示（{exc}）"}
            image.save(out / f"{i + 1}.png", optimize=True)
            sizes.append([image.width, image.height])
            thumb = image.copy()
            thumb.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
            thumb.save(out / f"{i + 1}.thumb.png", optimize=True)
            page.close()
    finally:
        pdf.close()
    return {"pages": n, "sizes": sizes}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m live.store.pdf_render IN.pdf OUTDIR", file=sys.stderr)
        return 2
    limit_self()
    try:
        result = render(Path(argv[0]), Path(argv[1]))
    except MemoryError:
        result = {"error": "too_large", "message": "PDF 页面过大，渲染所需内存超过上限"}
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    return 3 if "error" in result else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
