"""The files an owner (责任单位) attaches to a 整改 report: PDF and images only.

The type is decided by the file's first bytes (its magic number), never by the name or
the Content-Type the browser sent; the name's extension must agree with what the bytes
are, so a renamed HTML page or script is refused rather than stored as a "PDF".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from live.domain.errors import LiveError

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_REPORT = 5
MAX_FILENAME_CHARS = 100

# media type → (extensions that may name it, stored extension)
KINDS: dict[str, tuple[frozenset[str], str]] = {
    "application/pdf": (frozenset({"pdf"}), "pdf"),
    "image/png": (frozenset({"png"}), "png"),
    "image/jpeg": (frozenset({"jpg", "jpeg"}), "jpg"),
    "image/webp": (frozenset({"webp"}), "webp"),
}

_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class AttachmentError(LiveError):
    """A refused attachment; the message names the file and says why."""

    default_code = "unsupported_media_type"


def sniff(data: bytes) -> str | None:
    """The media type the bytes start like, or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_filename(raw: str | None) -> str:
    """The name shown to readers: no path, no control or shell-special characters, capped."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _BAD_NAME_CHARS.sub("_", name).strip().strip(".")
    if not name:
        name = "附件"
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        keep = MAX_FILENAME_CHARS - len(ext) - 1
        name = f"{stem[:keep]}.{ext}" if dot and 0 < len(ext) <= 5 and keep > 0 else name[:MAX_FILENAME_CHARS]
    return name


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    media_type: str
    extension: str
    size: int


def check_file(filename: str | None, data: bytes) -> CheckedFile:
    """Accept one file or raise :class:`AttachmentError` (413 too large, 415 wrong type)."""
    name = clean_filename(filename)
    if not data:
        raise AttachmentError(f"附件「{name}」是空文件", "invalid", status=400)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(f"附件「{name}」过大：每个文件不超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB",
                              "too_large", status=413)
    media_type = sniff(data)
    if media_type is None:
        raise AttachmentError(f"附件「{name}」不是 PDF 或图片（PNG、JPEG、WebP），未保存",
                              "unsupported_media_type", status=415)
    allowed, ext = KINDS[media_type]
    given = name.rpartition(".")[2].lower() if "." in name else ""
    if given not in allowed:
        raise AttachmentError(f"附件「{name}」的扩展名与内容不符（内容是 {ext.upper()}），未保存",
                              "unsupported_media_type", status=415)
    return CheckedFile(name, media_type, ext, len(data))
