"""The structured items of DOMAIN.md B §5.6 a version holds beyond the first ten sections:
derogatory and non-derogatory acts, urgent exclusions, withdrawal criteria, information flow to
the care team, training hours and supervised cases. Each travels through the API, the editor,
the protocol page, the diff and the search document like the other sections."""

from __future__ import annotations

import pytest
from django.test import Client

from protocols.diff import diff_versions
from protocols.models import SECTION_FIELDS
from protocols.selectors import protocol_list
from protocols.services import drafting
from tests.protocols.conftest import content, first_version, publish_next

pytestmark = pytest.mark.django_db

NEW_SECTIONS = {
    "urgent_exclusions": "- fièvre au-delà de 38 °C",
    "withdrawal_criteria": "- la patiente retire son accord",
    "derogatory_acts": "- délivrance de l'antibiotique sans prescription",
    "non_derogatory_acts": "- conseils d'hydratation",
    "information_flow": "- compte rendu au médecin traitant par messagerie sécurisée",
}


def web(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_every_new_item_is_a_section_of_a_version() -> None:
    assert set(NEW_SECTIONS) <= set(SECTION_FIELDS)


def test_the_api_takes_and_returns_the_new_items(demo, client_for) -> None:
    client = client_for(demo["coord"])
    body = {
        **content(),
        **NEW_SECTIONS,
        "review_date": "2027-01-31",
        "kind": "national",
        "training_hours": 4,
        "training_supervised_cases": 5,
    }
    response = client.post("/api/v1/protocols/", body, format="json")
    assert response.status_code == 201, response.json()
    protocol_id = response.json()["id"]
    version = client.get(f"/api/v1/protocols/{protocol_id}/versions/1/").json()
    for name, text in NEW_SECTIONS.items():
        assert version[name] == text
        assert "<li>" in version["rendered"][name]
    assert (version["training_hours"], version["training_supervised_cases"]) == (4, 5)

    cleared = client.patch(
        f"/api/v1/protocols/{protocol_id}/versions/1/",
        {"training_hours": None, "derogatory_acts": ""},
        format="json",
    )
    assert cleared.status_code == 200, cleared.json()
    assert (cleared.json()["training_hours"], cleared.json()["derogatory_acts"]) == (None, "")
    bad = client.patch(
        f"/api/v1/protocols/{protocol_id}/versions/1/",
        {"training_hours": -1, "training_supervised_cases": 5000},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"training_hours", "training_supervised_cases"}


def test_the_page_and_the_editor_show_them(demo, published) -> None:
    version = published(**NEW_SECTIONS, training_hours=4, training_supervised_cases=5)
    protocol = version.protocol
    page = web(demo["ide.petit"]).get(f"/protocoles/{protocol.code}/").content.decode()
    for name in NEW_SECTIONS:
        assert f'id="section-{name}"' in page
    assert "messagerie sécurisée" in page
    assert "4 heures (théorie et pratique)" in page
    assert "5 patients sous supervision" in page

    coord = web(demo["coord"])  # the editor works on a draft of the next version
    assert coord.post(f"/protocoles/{protocol.code}/nouvelle-version/").status_code == 302
    page = coord.get(f"/protocoles/{protocol.code}/versions/2/modifier/").content.decode()
    for name in NEW_SECTIONS:
        assert f'name="{name}"' in page
    assert 'name="training_hours"' in page
    assert 'value="5"' in page


def test_the_editor_saves_the_training_numbers(demo, make_protocol) -> None:
    protocol = make_protocol()
    coord = web(demo["coord"])
    response = coord.post(
        f"/protocoles/{protocol.code}/versions/1/modifier/",
        {
            "save": "1",
            "title": "Chutes",
            "information_flow": "Compte rendu au médecin traitant.",
            "training_hours": "6",
            "training_supervised_cases": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    version = first_version(protocol)
    assert version.information_flow == "Compte rendu au médecin traitant."
    assert (version.training_hours, version.training_supervised_cases) == (6, None)


def test_the_diff_shows_changes_of_the_new_items(demo, published) -> None:
    old = published(**NEW_SECTIONS, training_hours=4)
    new = publish_next(
        demo,
        old,
        information_flow="- compte rendu au médecin traitant sous 24 heures",
        training_hours=6,
        training_supervised_cases=10,
    )
    changed = {
        section.key: section.status for section in diff_versions(old, new) if section.changed
    }
    assert changed == {
        "information_flow": "changed",
        "training_hours": "changed",
        "training_supervised_cases": "added",
    }


def test_a_new_version_copies_them(demo, published) -> None:
    old = published(**NEW_SECTIONS, training_hours=4, training_supervised_cases=5)
    draft = drafting.draft_new_version(actor=demo["coord"], protocol=old.protocol)
    for name, text in NEW_SECTIONS.items():
        assert getattr(draft, name) == text
    assert (draft.training_hours, draft.training_supervised_cases) == (4, 5)


def test_the_search_covers_the_new_sections(demo, published) -> None:
    published(title="Cystite", information_flow="Compte rendu par messagerie sécurisée.")
    published(title="Angine", derogatory_acts="Réalisation du test rapide streptocoque.")
    member = demo["ide.petit"]
    assert [p.title for p in protocol_list(member, q="messagerie")] == ["Cystite"]
    assert [p.title for p in protocol_list(member, q="streptocoque")] == ["Angine"]


def test_training_hours_alone_make_the_training_required(demo, published) -> None:
    version = published(training="", training_hours=4)
    assert version.requires_training
