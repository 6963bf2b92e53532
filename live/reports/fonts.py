"""The one Chinese font every PDF embeds: Noto Sans CJK SC, shipped inside the package.

A fresh server usually has no Chinese font, so the package carries its own
(``live/assets/fonts/``, SIL Open Font License 1.1, licence text beside it) and never
searches the system. ``$LIVE_CJK_FONT`` may point at another TrueType file instead.

The shipped file is built by ``assets/build_fonts.py`` from Debian's fonts-noto-cjk: the
SC face with every code point it maps (rare name characters such as 𬱖 U+2CC56 and
䶮 U+4DAE included), its outlines converted to TrueType because reportlab embeds only those.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

FONT_ENV = "LIVE_CJK_FONT"
FONT_DIR = Path(__file__).resolve().parents[1] / "assets" / "fonts"
SHIPPED_FONT = FONT_DIR / "NotoSansSC-Regular.ttf"
FONT_LICENSE = FONT_DIR / "OFL.txt"


class FontNotFoundError(RuntimeError):
    """No usable CJK font; the message (Chinese) says which file and how to fix it."""


def find_cjk_font() -> Path:
    """``$LIVE_CJK_FONT`` if set, else the font shipped in the package; never a system path."""
    env = os.environ.get(FONT_ENV, "").strip()
    if env:
        path = Path(env)
        if not path.is_file():
            raise FontNotFoundError(f"环境变量 {FONT_ENV} 指定的字体文件不存在：{env}")
        return path
    if SHIPPED_FONT.is_file():
        return SHIPPED_FONT
    raise FontNotFoundError(
        f"安装包缺少内置中文字体 {SHIPPED_FONT.name}，无法生成 PDF。请重新安装本软件（pip install .），"
        f"或用环境变量 {FONT_ENV} 指定一个 TrueType 字体文件。"
    )


def _utf16_hex(cp: int) -> str:
    return chr(cp).encode("utf-16-be", "surrogatepass").hex().upper()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, with each character written as UTF-16BE as the PDF
    specification asks. reportlab writes ``%04X``, which turns a character beyond
    U+FFFF (𬱖 U+2CC56, a name character) into a wrong one when text is copied or searched."""
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
        f"/CIDSystemInfo << /Registry ({fontname}) /Ordering ({fontname}) /Supplement 0 >> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def",
        "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>", "endcodespacerange",
        f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{_utf16_hex(cp)}>" for i, cp in enumerate(subset)),
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ]
    return "\n".join(lines)


# reportlab looks the helper up in its module when it writes each font subset.
ttfonts.makeToUnicodeCMap = _to_unicode_cmap

_lock = threading.Lock()
_registered: dict[str, str] = {}


def register_font(path: Path) -> str:
    """Register ``path`` with reportlab once; return its reportlab font name."""
    key = str(path.resolve())
    with _lock:
        if key in _registered:
            return _registered[key]
        name = f"LiveCJK{len(_registered)}"
        try:
            pdfmetrics.registerFont(TTFont(name, key, subfontIndex=0))
        except Exception as exc:  # reportlab raises TTFError or struct errors on bad files
            raise FontNotFoundError(f"字体文件无法使用（需要 TrueType 轮廓的 .ttf/.ttc）：{path}（{exc}）") from exc
        # One face serves every style: without this, <b> in Paragraph markup would fail.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(name, bold, italic, name)
        _registered[key] = name
        return name


def register_cjk_font() -> str:
    """The reportlab font name of the CJK font every PDF uses (registered on first call)."""
    return register_font(find_cjk_font())


__all__ = ["FONT_ENV", "FONT_LICENSE", "SHIPPED_FONT", "FontNotFoundError", "find_cjk_font", "register_cjk_font",
           "register_font"]
