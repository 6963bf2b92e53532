"""Build the shipped Chinese font from Debian's fonts-noto-cjk (a dev tool, run by hand).

The package ships Noto Sans CJK SC (SIL OFL 1.1) so PDFs print the same on a server
with no Chinese font. Debian ships it as one CFF-outline collection; reportlab embeds
only TrueType outlines, so this script

1. takes the SC face (every code point its cmap has, rare names such as 𬱖 and 䶮 included),
2. converts its cubic CFF outlines to quadratic TrueType ones, and writes
   ``live/assets/fonts/NotoSansSC-Regular.ttf`` for reportlab;
3. writes the same font as WOFF2 for the browser screens, split in two by unicode-range
   (the everyday set, and everything else) under ``frontend/fonts/``, with the @font-face CSS.

Usage (fontTools and brotli are dev tools, not runtime dependencies)::

    pip install fonttools brotli
    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb deb
    python assets/build_fonts.py deb/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path
from typing import Any

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parents[1]
PDF_FONT = ROOT / "live" / "assets" / "fonts" / "NotoSansSC-Regular.ttf"
WEB_DIR = ROOT / "frontend" / "fonts"
FAMILY = "Noto Sans SC Live"
SC_FACE = "Noto Sans CJK SC"
# Largest distance (font units of a 1000 em) a quadratic curve may stray from the cubic one.
MAX_ERR = 1.0


def _sc_face(collection: Path) -> TTFont:
    fonts = TTCollection(str(collection), lazy=False).fonts
    for font in fonts:
        if font["name"].getDebugName(4) == SC_FACE:
            return font
    sys.exit(f"no {SC_FACE} face in {collection}")


def _subset_to_cmap(font: TTFont) -> TTFont:
    """Keep the glyphs the SC cmap reaches (and their layout alternates), drop the other regions' forms."""
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.glyph_names = False
    opts.hinting = False
    opts.drop_tables = [*opts.drop_tables, "VORG"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=font.getBestCmap().keys())
    sub.subset(font)
    return font


def _to_truetype(font: TTFont) -> None:
    """Replace the CFF table with glyf/loca in place."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs: dict[str, Any] = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyphs[name] = pen.glyph()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    for tag in ("VORG",):
        if tag in font:
            del font[tag]
    font.sfntVersion = "\x00\x01\x00\x00"
    font["head"].glyphDataFormat = 0
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    for field in ("maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours"):
        setattr(maxp, field, 0)
    post = font["post"]
    post.formatType = 3.0
    post.extraNames = []
    post.mapping = {}


def _everyday() -> set[int]:
    """ASCII, CJK punctuation, full-width forms and the 6,763 hanzi of GB 2312: what most pages use."""
    cps = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070))
    cps |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                cps.add(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return cps


def _ranges(cps: set[int]) -> str:
    out: list[str] = []
    ordered = sorted(cps)
    start = prev = ordered[0]
    for cp in [*ordered[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        out.append(f"U+{start:X}" if start == prev else f"U+{start:X}-{prev:X}")
        start = prev = cp
    return ",".join(out)


def _web_part(ttf: Path, cps: set[int], out: Path) -> None:
    font = TTFont(str(ttf))
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]
    opts.flavor = "woff2"
    opts.notdef_outline = True
    opts.hinting = False
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=cps)
    sub.subset(font)
    font.flavor = "woff2"
    font.save(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", type=Path, help="NotoSansCJK-Regular.ttc from Debian's fonts-noto-cjk")
    args = parser.parse_args()

    font = _subset_to_cmap(_sc_face(args.collection))
    _to_truetype(font)
    PDF_FONT.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    font.save(buf)
    PDF_FONT.write_bytes(buf.getvalue())
    cmap = set(TTFont(str(PDF_FONT))["cmap"].getBestCmap())
    print(f"{PDF_FONT.relative_to(ROOT)}: {len(cmap)} code points, {PDF_FONT.stat().st_size / 1e6:.1f} MB")

    WEB_DIR.mkdir(parents=True, exist_ok=True)
    everyday = cmap & _everyday()
    rest = cmap - everyday
    faces = []
    for part, cps in (("everyday", everyday), ("rest", rest)):
        out = WEB_DIR / f"noto-sans-sc-{part}.woff2"
        _web_part(PDF_FONT, cps, out)
        print(f"{out.relative_to(ROOT)}: {len(cps)} code points, {out.stat().st_size / 1e6:.1f} MB")
        faces.append(
            "@font-face {\n"
            f'  font-family: "{FAMILY}";\n'
            "  font-style: normal;\n"
            "  font-weight: 400;\n"
            "  font-display: swap;\n"
            f'  src: url("{out.name}") format("woff2");\n'
            f"  unicode-range: {_ranges(cps)};\n"
            "}\n"
        )
    header = ("/* Noto Sans CJK SC (SIL OFL 1.1, see OFL.txt), built by assets/build_fonts.py.\n"
              "   Two files by unicode-range: a page loads the second only for a character outside\n"
              "   the everyday set (GB 2312 and punctuation), e.g. a rare character in a name.\n"
              "   Bold is synthesised by the browser from this one Regular face. */\n")
    (WEB_DIR / "fonts.css").write_text(header + "\n".join(faces), encoding="utf-8")
    shutil.copy(PDF_FONT.parent / "OFL.txt", WEB_DIR / "OFL.txt")


if __name__ == "__main__":
    main()
