"""Attachments: type checked on the content, encrypted at rest, streamed, audited."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from liaison.models import SheetAttachment
from security.models import AuditEntry

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"compte rendu " * 200


def upload(client, sheet, name, content):
    return client.post(
        f"{API}{sheet.code}/attachments/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def test_it_attaches_and_streams_back_a_pdf(client_for, demo, make_referral) -> None:
    sheet = make_referral()
    response = upload(client_for(demo["dr.martin"]), sheet, "CR-Lefevre.pdf", PDF)
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "application/pdf"
    attachment = SheetAttachment.objects.get(code=response.json()["id"])

    download = client_for(demo["ide.petit"]).get(
        f"{API}{sheet.code}/attachments/{attachment.code}/"
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert "CR-Lefevre.pdf" in download["Content-Disposition"]
    assert AuditEntry.objects.filter(
        action="liaison_sheet.attachment_read", actor=demo["ide.petit"]
    ).exists()


def test_it_refuses_a_disguised_executable(client_for, demo, make_referral) -> None:
    response = upload(
        client_for(demo["dr.martin"]),
        make_referral(),
        "scan.pdf",
        b"MZ\x90\x00\x03" + b"\x00" * 100,
    )
    assert response.status_code == 400
    assert "file" in response.json()
    assert not SheetAttachment.objects.exists()


def test_outsiders_cannot_download(client_for, demo, make_referral) -> None:
    sheet = make_referral()
    code = upload(client_for(demo["dr.martin"]), sheet, "a.pdf", PDF).json()["id"]
    response = client_for(demo["pharma.durand"]).get(f"{API}{sheet.code}/attachments/{code}/")
    assert response.status_code == 404


def test_the_file_is_not_stored_in_clear(client_for, demo, make_referral, settings) -> None:
    sheet = make_referral()
    code = upload(client_for(demo["dr.martin"]), sheet, "a.pdf", PDF).json()["id"]
    attachment = SheetAttachment.objects.get(code=code)
    stored = [
        p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file() and attachment.file in str(p)
    ]
    assert stored, "the encrypted file should be on disk"
    assert b"compte rendu" not in stored[0].read_bytes()
