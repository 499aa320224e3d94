"""Section-by-section comparison of versions, and its display when a new version is published."""

from __future__ import annotations

import pytest
from django.test import Client

from protocols.diff import diff_texts
from protocols.services import participation
from tests.protocols.conftest import publish_next
from worker.models import Notification

pytestmark = pytest.mark.django_db


def test_it_compares_line_by_line() -> None:
    lines = diff_texts("a\nb\nc", "a\nB\nc\nd")
    assert [(line.op, line.text) for line in lines] == [
        ("equal", "a"),
        ("delete", "b"),
        ("insert", "B"),
        ("equal", "c"),
        ("insert", "d"),
    ]


def test_the_api_gives_the_diff_section_by_section(demo, client_for, published) -> None:
    version = published(steps="1. Rechercher un hématome.\n2. Prévenir le médecin.", indicators="")
    publish_next(
        demo,
        version,
        steps="1. Rechercher un hématome.\n2. Appeler le 15.",
        indicators="Nombre de chutes.",
    )
    code = version.protocol.code
    body = client_for(demo["ide.petit"]).get(f"/api/v1/protocols/{code}/diff/").json()
    assert (body["from_version"], body["to_version"]) == (1, 2)
    sections = {section["key"]: section for section in body["sections"]}
    assert sections["steps"]["status"] == "changed"
    assert {"op": "delete", "text": "2. Prévenir le médecin."} in sections["steps"]["lines"]
    assert {"op": "insert", "text": "2. Appeler le 15."} in sections["steps"]["lines"]
    assert sections["indicators"]["status"] == "added"
    assert sections["objective"] == {
        "key": "objective",
        "title": "Objectif",
        "status": "unchanged",
        "lines": [],
    }
    explicit = (
        client_for(demo["ide.petit"]).get(f"/api/v1/protocols/{code}/diff/?from=2&to=1").json()
    )
    assert explicit["from_version"] == 2


def test_the_diff_refuses_bad_or_hidden_versions(demo, client_for, published) -> None:
    version = published()
    code = version.protocol.code
    client = client_for(demo["ide.petit"])
    assert (
        client.get(f"/api/v1/protocols/{code}/diff/").status_code == 404
    )  # nothing to compare with
    assert client.get(f"/api/v1/protocols/{code}/diff/?from=x").status_code == 400
    assert client.get(f"/api/v1/protocols/{code}/diff/?from=1&to=9").status_code == 404
    assert client.get(f"/api/v1/protocols/{code}/diff/?depuis=1").status_code == 400


def test_members_see_what_changed_on_the_protocol_page(demo, published) -> None:
    version = published(steps="1. Rechercher un hématome.")
    publish_next(demo, version, steps="1. Rechercher un hématome.\n2. Surveiller à 24 h.")
    web = Client()
    web.force_login(demo["pharma.durand"].user)
    page = web.get(f"/protocoles/{version.protocol.code}/").content.decode()
    assert "Ce qui a changé depuis la version 1" in page
    assert "<ins>+ 2. Surveiller à 24 h.</ins>" in page
    compare = web.get(f"/protocoles/{version.protocol.code}/comparer/?from=1&to=2").content.decode()
    assert "<ins>+ 2. Surveiller à 24 h.</ins>" in compare


def test_a_new_version_is_announced_to_participants_and_readers(demo, published) -> None:

    version = published()
    participation.register_participant(
        actor=demo["dr.martin"],
        protocol=version.protocol,
        member=demo["dr.martin"],
        role="delegant",
    )
    participation.acknowledge_version(actor=demo["as.moreau"], version=version)
    publish_next(demo, version, steps="1. Nouveau.")
    told = set(
        Notification.objects.filter(event="protocols.version_published").values_list(
            "recipient__user__username", flat=True
        )
    )
    assert {"dr.martin", "as.moreau"} <= told
    assert "coord" not in told  # the publisher is not told about their own action
