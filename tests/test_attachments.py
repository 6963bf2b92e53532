"""Attachments of 整改 reports are typed by their first bytes, never by their name alone."""

from __future__ import annotations

import pytest

from live.domain.attachments import MAX_ATTACHMENT_BYTES, AttachmentError, check_file, clean_filename, sniff

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("整改报告.pdf", PDF, "application/pdf"), ("现场.PNG", PNG, "image/png"), ("a.jpg", JPEG, "image/jpeg"),
    ("a.jpeg", JPEG, "image/jpeg"), ("b.webp", WEBP, "image/webp")])
def test_pdf_and_images_pass(name: str, data: bytes, kind: str) -> None:
    checked = check_file(name, data)
    assert (checked.media_type, checked.size, checked.filename) == (kind, len(data), name)
    assert sniff(data) == kind


@pytest.mark.parametrize(("name", "data", "code"), [
    ("报告.pdf", b"<html><script>alert(1)</script></html>", "unsupported_media_type"),  # a page renamed .pdf
    ("图.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_media_type"),
    ("a.exe", b"MZ\x90\x00", "unsupported_media_type"),
    ("报告.png", PDF, "unsupported_media_type"),  # the name must agree with the bytes
    ("报告", PDF, "unsupported_media_type"),
    ("空.pdf", b"", "invalid"),
    ("大.pdf", b"%PDF-" + b"0" * MAX_ATTACHMENT_BYTES, "too_large"),
])
def test_other_files_are_refused_by_name_and_reason(name: str, data: bytes, code: str) -> None:
    with pytest.raises(AttachmentError) as info:
        check_file(name, data)
    assert info.value.code == code and clean_filename(name) in info.value.message
    assert info.value.status in (400, 413, 415)


def test_filenames_lose_paths_and_odd_characters() -> None:
    assert clean_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert clean_filename("C:\\Users\\a\\报告.pdf") == "报告.pdf"
    assert clean_filename('a"<b>|c.pdf') == "a__b__c.pdf"
    assert clean_filename("") == "附件" and clean_filename(None) == "附件"
    long = clean_filename("长" * 300 + ".pdf")
    assert len(long) == 100 and long.endswith(".pdf")
