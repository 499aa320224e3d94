"""The upload check decides a file's type from its content, and refuses active text."""

from __future__ import annotations

import io

import pytest

from security.exceptions import FieldErrors
from security.uploads import check_upload, sniff_content_type

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"Pansement refait, plaie propre. Prochain passage jeudi.", "text/plain"),
        (b"Tension 13/8 < 14/9, RAS", "text/plain"),  # a '<' alone is still text
        ("\ufeffNote avec BOM : œdème résorbé".encode(), "text/plain"),
    ],
)
def test_it_recognises_the_allowed_types_from_their_content(content, expected) -> None:
    assert sniff_content_type(content) == expected


@pytest.mark.parametrize(
    "content",
    [
        b"<html><body><script>fetch('/api/v1/me/')</script></body></html>",
        b"  <!DOCTYPE html><p>ordonnance</p>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b'<?xml version="1.0"?><note/>',
        b"Compte rendu\n<iframe src='https://example.org'></iframe>",
        b"<a href='javascript:alert(1)'>voir</a>",
        b"\xef\xbb\xbf#!/bin/sh\nrm -rf ~\n",
        b"GIF89a\x01\x00\x01\x00",
        b"{\\rtf1\\ansi ordonnance}",
        b"%!PS-Adobe-3.0\n",
        b"MZ\x90\x00\x03" + b"\x00" * 10,
    ],
)
def test_it_refuses_text_that_would_be_rendered_or_run(content) -> None:
    assert sniff_content_type(content) is None
    with pytest.raises(FieldErrors) as raised:
        check_upload(io.BytesIO(content), size=len(content), field="attachments")
    assert "refusé" in raised.value.fields["attachments"][0]


def test_it_refuses_an_empty_file_and_names_the_field() -> None:
    with pytest.raises(FieldErrors) as raised:
        check_upload(io.BytesIO(b""), size=0, field="file")
    assert "vide" in raised.value.fields["file"][0]
