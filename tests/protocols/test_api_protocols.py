"""The protocols API: creation, reading, access rules (404 for work in progress), PDF."""

from __future__ import annotations

import io

import pytest

from protocols.models import Protocol
from protocols.services import drafting, lifecycle
from tests.access import assert_hidden_from
from tests.protocols.conftest import content, first_version

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_member_creates_a_protocol_with_its_first_draft(demo, client_for, themes) -> None:
    body = {
        **content(),
        "review_date": "2027-01-31",
        "kind": "local",
        "reference": "chute-01",
        "themes": ["personnes-agees"],
    }
    response = client_for(demo["dr.martin"]).post("/api/v1/protocols/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["reference"], data["status"], data["current"], data["themes"]) == (
        "CHUTE-01",
        "draft",
        None,
        ["personnes-agees"],
    )
    assert [(v["number"], v["status"]) for v in data["versions"]] == [(1, "draft")]
    again = client_for(demo["coord"]).post("/api/v1/protocols/", body, format="json")
    assert again.status_code == 400
    assert "reference" in again.json()


def test_creation_validates_its_input(demo, client_for) -> None:
    client = client_for(demo["dr.martin"])
    assert client.post("/api/v1/protocols/", {"kind": "local"}, format="json").status_code == 400
    bad = client.post(
        "/api/v1/protocols/",
        {"kind": "local", "title": "T", "professions": ["sorcier"]},
        format="json",
    )
    assert bad.status_code == 400
    unknown_theme = client.post(
        "/api/v1/protocols/", {"kind": "local", "title": "T", "themes": ["nope"]}, format="json"
    )
    assert unknown_theme.status_code == 400
    bad_reference = client.post(
        "/api/v1/protocols/", {"kind": "local", "title": "T", "reference": "a b/c"}, format="json"
    )
    assert bad_reference.status_code == 400
    assert "reference" in bad_reference.json()


def test_work_in_progress_is_hidden_from_members_not_working_on_it(
    demo, client_for, make_protocol
) -> None:
    protocol = make_protocol()
    outsiders = [demo["ide.petit"], demo["hop.cardio"], demo["dr.martin"]]
    base = f"/api/v1/protocols/{protocol.code}/"
    for url in (
        base,
        f"{base}versions/",
        f"{base}versions/1/",
        f"{base}acknowledgements/",
        f"{base}participants/",
        f"{base}diff/",
    ):
        assert_hidden_from(client_for, "get", url, outsiders)
    assert_hidden_from(client_for, "patch", f"{base}versions/1/", outsiders, {"objective": "x"})
    assert_hidden_from(client_for, "post", f"{base}versions/1/publish/", outsiders)
    assert_hidden_from(client_for, "post", f"{base}versions/1/acknowledge/", outsiders)
    assert_hidden_from(client_for, "post", f"{base}participants/", outsiders, {"role": "delegant"})
    # Its author and the coordination see it.
    assert client_for(demo["coord"]).get(base).status_code == 200


def test_a_named_reviewer_sees_the_version_in_review(demo, client_for, submitted) -> None:
    version = submitted()
    assert (
        client_for(demo["dr.martin"])
        .get(f"/api/v1/protocols/{version.protocol.code}/versions/1/")
        .status_code
        == 200
    )
    assert_hidden_from(
        client_for,
        "get",
        f"/api/v1/protocols/{version.protocol.code}/versions/1/",
        [demo["ide.petit"]],
    )


def test_a_published_protocol_shows_its_released_versions_only(demo, client_for, published) -> None:

    version = published()
    drafting.draft_new_version(actor=demo["coord"], protocol=version.protocol)
    client = client_for(demo["ide.petit"])
    body = client.get(f"/api/v1/protocols/{version.protocol.code}/").json()
    assert body["current"]["number"] == 1
    assert body["current"]["rendered"]["steps"].startswith("<ol>")
    assert [v["number"] for v in body["versions"]] == [1]
    assert_hidden_from(
        client_for,
        "get",
        f"/api/v1/protocols/{version.protocol.code}/versions/2/",
        [demo["ide.petit"]],
    )
    coord_versions = (
        client_for(demo["coord"]).get(f"/api/v1/protocols/{version.protocol.code}/versions/").json()
    )
    assert [v["status"] for v in coord_versions] == ["published", "draft"]


def test_the_metadata_is_edited_by_the_creator_and_the_coordination(
    demo, client_for, published, themes
) -> None:
    protocol = published().protocol
    url = f"/api/v1/protocols/{protocol.code}/"
    assert (
        client_for(demo["ide.petit"])
        .patch(url, {"themes": ["addictions"]}, format="json")
        .status_code
        == 403
    )
    response = client_for(demo["coord"]).patch(
        url, {"themes": ["addictions"], "reference": "ac-2"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["themes"], response.json()["reference"]) == (["addictions"], "AC-2")


def test_a_draft_gets_a_pdf_that_members_download_once_published(
    demo, client_for, make_protocol
) -> None:

    protocol = make_protocol()
    url = f"/api/v1/protocols/{protocol.code}/versions/1/attachment/"
    coord = client_for(demo["coord"])
    refused = coord.post(url, {"file": io.BytesIO(b"MZ\x90\x00binary")}, format="multipart")
    assert refused.status_code == 400
    upload = io.BytesIO(PDF)
    upload.name = "protocole-chute.pdf"
    response = coord.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["attachment"]["name"] == "protocole-chute.pdf"
    version = first_version(protocol)
    lifecycle.submit_for_review(actor=demo["coord"], version=version, reviewers=[demo["dr.martin"]])
    lifecycle.approve_version(actor=demo["dr.martin"], version=version)
    lifecycle.publish_version(actor=demo["coord"], version=version)
    download = client_for(demo["ide.petit"]).get(url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF
    again = coord.post(url, {"file": io.BytesIO(PDF)}, format="multipart")
    assert again.status_code == 409  # a published version is immutable, its PDF too


def test_a_version_number_out_of_range_is_a_404(demo, client_for, published) -> None:
    protocol = published().protocol
    client = client_for(demo["ide.petit"])
    assert (
        client.get(f"/api/v1/protocols/{protocol.code}/versions/99999999999999999999/").status_code
        == 404
    )


def test_the_detail_has_a_pinned_query_count(
    demo, client_for, published, django_assert_num_queries
) -> None:
    protocol = published().protocol
    client = client_for(demo["ide.petit"])
    # Coordinator check, protocol (+ themes), version in force (+ reviews), readable versions.
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/protocols/{protocol.code}/")
    assert response.status_code == 200
    assert Protocol.objects.get(pk=protocol.pk).title == response.json()["title"]
