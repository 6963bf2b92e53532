"""QR codes as PNG (for screens and print) and as text (for the terminal)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(data: str, box_size: int = 12, border: int = 2) -> bytes:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(data)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_text(data: str) -> str:
    """Half-block rendering: two QR rows per terminal line, so it fits a screen."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=2)
    qr.add_data(data)
    qr.make(fit=True)
    m = qr.get_matrix()
    lines = []
    for y in range(0, len(m), 2):
        top = m[y]
        bottom = m[y + 1] if y + 1 < len(m) else [False] * len(top)
        row = []
        for t, b in zip(top, bottom, strict=True):
            # Dark modules print as spaces on a light background, so invert.
            row.append({(False, False): "█", (True, False): "▄", (False, True): "▀", (True, True): " "}[(t, b)])
        lines.append("".join(row))
    return "\n".join(lines)
