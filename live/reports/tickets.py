"""Printed and sent credentials: A4 sheets of numbered 票码 (or roster voters' personal
cards) with cut lines and a QR each, and CSV for distribution by SMS or WeChat."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from live.reports.checkup import register_cjk_font
from live.reports.printables import RED, _fit

PER_PAGE = 10  # 2 × 5


def _qr_modules(data: str, version: int | None) -> list[list[bool]]:
    """The QR's module matrix. Links of one length (a batch's) fit one version, found
    once; the mask is fixed (any of the eight is valid QR) because scoring all eight was
    80 % of the time of a 5,000-ticket sheet. Decoding every printed QR is tested."""
    qr = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0, mask_pattern=2)
    qr.add_data(data)
    qr.make(fit=version is None)
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


def _draw_qr(c: Canvas, modules: list[list[bool]], x: float, y: float, size: float) -> None:
    """Vector modules, one rectangle per dark run of a row: sharp at any print size, no image per ticket."""
    n = len(modules)
    quiet = 2  # modules of white margin inside the box
    cell = size / (n + 2 * quiet)
    c.setFillGray(1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillGray(0)
    path = c.beginPath()
    for r, row in enumerate(modules):
        top = y + size - (quiet + r + 1) * cell
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(x + (quiet + start) * cell, top, (col - start) * cell, cell)
            else:
                col += 1
    c.drawPath(path, stroke=0, fill=1)


@dataclass(frozen=True)
class CredentialCard:
    number: int
    group: str
    url: str  # the join link, with the secret in its fragment
    code: str = ""  # a ticket's code as printed (K7QM-3XP9-TR2W); empty for a roster card
    name: str = ""
    unit: str = ""


def credential_cards_pdf(title: str, cards: Sequence[CredentialCard], heading: str) -> bytes:
    """Ten cards an A4 page, dashed cut lines between them."""
    font = register_cjk_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4)
    c.setTitle(f"{title} {heading}")
    width, height = A4
    margin = 10 * mm
    cw, ch = (width - 2 * margin) / 2, (height - 2 * margin) / 5
    versions: dict[int, int] = {}  # link length -> the QR version that fits it
    for n, card in enumerate(cards):
        if n and n % PER_PAGE == 0:
            c.showPage()
        col, row = n % 2, (n % PER_PAGE) // 2
        x, y = margin + col * cw, height - margin - (row + 1) * ch
        c.setDash(2, 3)
        c.setStrokeGray(0.6)
        c.rect(x, y, cw, ch)
        c.setDash()
        qr_size = ch - 10 * mm
        modules = _qr_modules(card.url, versions.get(len(card.url)))
        versions[len(card.url)] = (len(modules) - 17) // 4
        _draw_qr(c, modules, x + 4 * mm, y + 5 * mm, qr_size)
        tx = x + 7 * mm + qr_size
        tw = cw - qr_size - 10 * mm
        c.setFillGray(0.15)
        c.setFont(font, 8)
        c.drawString(tx, y + ch - 8 * mm, f"No. {card.number:04d}  ·  {card.group}")
        c.setFillColorRGB(*RED)
        if card.code:
            c.setFont("Courier-Bold", _fit(c, card.code, "Courier-Bold", 15, tw))
            c.drawString(tx, y + ch - 17 * mm, card.code)
        else:
            c.setFont(font, _fit(c, card.name, font, 16, tw))
            c.drawString(tx, y + ch - 17 * mm, card.name)
            c.setFillGray(0.15)
            c.setFont(font, _fit(c, card.unit, font, 8.5, tw))
            c.drawString(tx, y + ch - 23 * mm, card.unit)
        c.setFillGray(0.15)
        c.setFont(font, _fit(c, title, font, 7.5, tw))
        c.drawString(tx, y + 14 * mm, title)
        c.setFont(font, 7.5)
        hint = "扫码即可投票；或打开会议页面输入票码" if card.code else "本人专用，扫码即可投票"
        c.drawString(tx, y + 9.5 * mm, hint)
        c.drawString(tx, y + 5.5 * mm, "一人一码，首次使用即绑定手机，请勿转借")
    c.showPage()
    c.save()
    return buf.getvalue()


def _cell(text: str) -> str:
    """Spreadsheet apps run a cell that starts with = + - @ as a formula: quote it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def tickets_csv(cards: Sequence[CredentialCard]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["编号", "票码", "群体", "投票链接"])
    for card in cards:
        w.writerow([card.number, card.code, _cell(card.group), card.url])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read it as UTF-8


def roster_csv(cards: Sequence[CredentialCard], contacts: Sequence[str]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["编号", "姓名", "单位", "群体", "手机/工号", "个人投票链接"])
    for card, contact in zip(cards, contacts, strict=True):
        w.writerow([card.number, _cell(card.name), _cell(card.unit), _cell(card.group), _cell(contact), card.url])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def ticket_url(base: str, meeting_code: str, code: str) -> str:
    """The join link with the code in its fragment: browsers never send a fragment, so no log keeps it."""
    return f"{base.rstrip('/')}/j/{meeting_code}#t={code}"


def roster_url(base: str, meeting_code: str, token: str) -> str:
    return f"{base.rstrip('/')}/j/{meeting_code}#r={token}"


def ticket_bundle(title: str, base: str, meeting_code: str, first: int, group: str,
                  codes: Sequence[str]) -> tuple[bytes, bytes]:
    """The PDF and the CSV of one batch of fresh codes (the only time the codes exist in clear)."""
    from live.domain.credentials import group_code

    cards = [CredentialCard(first + n, group, ticket_url(base, meeting_code, code), group_code(code))
             for n, code in enumerate(codes)]
    return credential_cards_pdf(title, cards, "票码"), tickets_csv(cards)
