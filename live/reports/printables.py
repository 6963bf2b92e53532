"""Printed A4 material: the 评议团's personal QR cards and the audience join poster.
Both embed the CJK font, so they print the same anywhere."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from live.reports.fonts import register_cjk_font

RED = (0.64, 0.09, 0.11)


@dataclass(frozen=True)
class Card:
    name: str
    category: str
    url: str
    pin: str | None = None  # asked for when the link is first opened on a tablet


def _qr(data: str) -> ImageReader:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=1)
    qr.add_data(data)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image()
    return ImageReader(img)


def _fit(c: Canvas, text: str, font: str, size: float, max_width: float) -> float:
    """Shrink long titles to the width instead of running off the card."""
    while size > 7 and c.stringWidth(text, font, size) > max_width:
        size -= 0.5
    return size


def _wrap(c: Canvas, text: str, font: str, size: float, width: float, max_lines: int) -> tuple[float, list[str]]:
    """Break ``text`` into lines no wider than ``width`` (Chinese has no spaces, so at any
    character); shrink the size until it takes at most ``max_lines``."""
    while True:
        lines: list[str] = []
        line = ""
        for ch in text:
            if line and c.stringWidth(line + ch, font, size) > width:
                lines.append(line)
                line = ""
            line += ch
        lines.append(line)
        if len(lines) <= max_lines or size <= 5:
            return size, lines[:max_lines]
        size -= 0.5


def panel_cards_pdf(title: str, cards: Sequence[Card]) -> bytes:
    """Eight cards an A4 page (2 × 4), cut lines included; each card is one member's link."""
    font = register_cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setTitle(f"{title} 评议团个人二维码")
    width, height = A4
    margin = 12 * mm
    cw, ch = (width - 2 * margin) / 2, (height - 2 * margin) / 4
    for n, card in enumerate(cards):
        if n and n % 8 == 0:
            c.showPage()
        col, row = n % 2, (n % 8) // 2
        x, y = margin + col * cw, height - margin - (row + 1) * ch
        c.setDash(2, 3)
        c.setStrokeGray(0.6)
        c.rect(x, y, cw, ch)
        c.setDash()
        # The QR leaves a text column of about 33 mm; every line is fitted or wrapped to it,
        # so nothing runs under the neighbouring card's QR or off the page.
        qr_size = min(ch - 14 * mm, 46 * mm)
        c.drawImage(_qr(card.url), x + 5 * mm, y + (ch - qr_size) / 2, qr_size, qr_size)
        tx = x + 9 * mm + qr_size
        tw = cw - qr_size - 14 * mm
        c.setFillColorRGB(*RED)
        c.setFont(font, _fit(c, card.name, font, 20, tw))
        c.drawString(tx, y + ch - 20 * mm, card.name)
        c.setFillGray(0.15)
        c.setFont(font, _fit(c, card.category, font, 12, tw))
        c.drawString(tx, y + ch - 29 * mm, card.category)
        if card.pin:
            c.setFillColorRGB(*RED)
            c.setFont(font, 16)
            c.drawString(tx, y + ch - 40 * mm, f"PIN  {card.pin}")
            c.setFillGray(0.15)
        note = "评议团个人二维码，请勿转借"
        note_size = _fit(c, note, font, 8, tw)
        c.setFont(font, note_size)
        c.drawString(tx, y + 8 * mm, note)
        size, lines = _wrap(c, title, font, 8, tw, max_lines=3)
        c.setFont(font, size)
        for i, line in enumerate(reversed(lines)):
            c.drawString(tx, y + 8 * mm + (i + 1) * size * 1.35 + 2, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def join_poster_pdf(title: str, code: str, url: str) -> bytes:
    """One A4 poster for the hall entrance and seat backs."""
    font = register_cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setTitle(f"{title} 扫码参与")
    width, height = A4
    c.setFillColorRGB(*RED)
    c.rect(0, height - 45 * mm, width, 45 * mm, stroke=0, fill=1)
    c.setFillGray(1)
    size = _fit(c, title, font, 24, width - 30 * mm)
    c.setFont(font, size)
    c.drawCentredString(width / 2, height - 27 * mm, title)
    c.setFillGray(0.1)
    c.setFont(font, 30)
    c.drawCentredString(width / 2, height - 68 * mm, "扫码参与述法评议")
    qr_size = 120 * mm
    c.drawImage(_qr(url), (width - qr_size) / 2, height - 78 * mm - qr_size, qr_size, qr_size)
    c.setFont(font, 16)
    c.drawCentredString(width / 2, height - 90 * mm - qr_size, "无需注册 · 可提问 · 可点赞 · 测评环节可投票")
    c.setFont(font, 14)
    c.drawCentredString(width / 2, 52 * mm, "或在浏览器中打开以下地址，输入会议码：")
    c.setFont(font, 13)
    c.drawCentredString(width / 2, 44 * mm, url.rsplit("/j/", 1)[0] + "/")
    c.setFillColorRGB(*RED)
    c.setFont(font, 40)
    c.drawCentredString(width / 2, 25 * mm, " ".join(code))
    c.showPage()
    c.save()
    return buf.getvalue()
