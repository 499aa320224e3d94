"""The French pages of the protocols through Django's test client (the browser test drives them
for real), and the interface rule for the guide's modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from protocols.models import Protocol, ProtocolVersion
from tests.protocols.conftest import first_version

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def web(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_the_library_lists_searches_and_shows_work_to_review(demo, published, submitted) -> None:
    published(title="Prévention des chutes")
    submitted(title="Plaies chroniques")
    page = web(demo["dr.martin"]).get("/protocoles/").content.decode()
    assert "Prévention des chutes" in page
    assert "À relire" in page
    assert "Plaies chroniques" in page
    page = web(demo["ide.petit"]).get("/protocoles/?q=chute&kind=&status=").content.decode()
    assert "Prévention des chutes" in page
    assert "Plaies chroniques" not in page


def test_the_editor_creates_a_draft_and_submits_it(demo) -> None:
    client = web(demo["coord"])
    assert client.get("/protocoles/nouveau/").status_code == 200
    response = client.post(
        "/protocoles/nouveau/",
        {
            "title": "Chute sous anticoagulant",
            "kind": "local",
            "reference": "CHUTE-02",
            "review_date": "2027-03-01",
            "delegant_professions": ["medecin_generaliste"],
            "delegate_professions": ["infirmier"],
            "objective": "Savoir réagir.",
            "exclusion_criteria": "Traumatisme crânien.",
            "steps": "1. Chercher un hématome.",
            "referral_back": "Urgences sans délai.",
        },
    )
    protocol = Protocol.objects.get(reference="CHUTE-02")
    assert response.status_code == 302
    assert response["Location"] == f"/protocoles/{protocol.code}/versions/1/modifier/"
    version = first_version(protocol)
    page = client.get(response["Location"]).content.decode()
    assert "Chercher un hématome" in page
    assert "Soumettre à la relecture" in page
    response = client.post(
        response["Location"],
        {
            "revision": str(version.revision),
            "title": "Chute sous anticoagulant",
            "review_date": "2027-03-01",
            "delegant_professions": ["medecin_generaliste"],
            "delegate_professions": ["infirmier"],
            "objective": "Savoir réagir vite.",
            "exclusion_criteria": "Traumatisme crânien.",
            "steps": "1. Chercher un hématome.",
            "referral_back": "Urgences sans délai.",
            "reviewers": [str(demo["dr.martin"].code)],
            "submit": "",
        },
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.status, version.objective) == (
        ProtocolVersion.Status.IN_REVIEW,
        "Savoir réagir vite.",
    )


def test_the_editor_shows_missing_fields_instead_of_failing(demo) -> None:
    response = web(demo["coord"]).post("/protocoles/nouveau/", {"title": "", "kind": "local"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "field field-textarea has-error" in page  # the title, marked on the form
    assert "Certains champs sont à compléter" in page


def test_a_stale_editor_form_is_refused(demo, make_protocol) -> None:
    protocol = make_protocol()
    url = f"/protocoles/{protocol.code}/versions/1/modifier/"
    response = web(demo["coord"]).post(url, {"revision": "0", "title": "Autre"})
    assert response.status_code == 412


def test_the_review_page_approves_and_the_author_publishes(demo, submitted) -> None:
    version = submitted()
    code = version.protocol.code
    page = web(demo["dr.martin"]).get(f"/protocoles/{code}/versions/1/relecture/").content.decode()
    assert "Approuver" in page
    assert "Demander des modifications" in page
    web(demo["dr.martin"]).post(
        f"/protocoles/{code}/versions/1/action/approve/",
        {"next": f"/protocoles/{code}/versions/1/relecture/"},
    )
    page = web(demo["coord"]).get(f"/protocoles/{code}/versions/1/relecture/").content.decode()
    assert "Publier" in page
    response = web(demo["coord"]).post(
        f"/protocoles/{code}/versions/1/action/publish/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/protocoles/{code}/"  # the next URL stays on the site
    version.refresh_from_db()
    assert version.status == ProtocolVersion.Status.PUBLISHED


def test_a_forbidden_action_is_a_message_not_an_error(demo, published) -> None:
    version = published()
    response = web(demo["coord"]).post(
        f"/protocoles/{version.protocol.code}/versions/1/action/publish/", follow=True
    )
    assert response.status_code == 200
    assert "Publication impossible" in response.content.decode()


def test_the_protocol_page_acknowledges_and_registers(demo, published) -> None:
    version = published()
    code = version.protocol.code
    client = web(demo["ide.petit"])
    page = client.get(f"/protocoles/{code}/").content.decode()
    assert "J'ai lu et j'approuve" in page
    client.post(f"/protocoles/{code}/versions/1/action/acknowledge/")
    client.post(
        f"/protocoles/{code}/participants/", {"role": "delegate", "training_declared": "on"}
    )
    page = client.get(f"/protocoles/{code}/").content.decode()
    assert "Vous avez lu et approuvé cette version le" in page
    assert "formation déclarée" in page
    assert client.get(f"/protocoles/{code}/versions/1/").status_code == 200


def test_hidden_drafts_are_404_pages(demo, make_protocol) -> None:
    protocol = make_protocol()
    client = web(demo["ide.petit"])
    for url in (
        f"/protocoles/{protocol.code}/",
        f"/protocoles/{protocol.code}/versions/1/",
        f"/protocoles/{protocol.code}/versions/1/modifier/",
        f"/protocoles/{protocol.code}/versions/1/relecture/",
    ):
        assert client.get(url).status_code == 404, url


def test_a_new_version_is_started_from_the_page(demo, published) -> None:
    version = published()
    response = web(demo["coord"]).post(f"/protocoles/{version.protocol.code}/nouvelle-version/")
    assert response["Location"] == f"/protocoles/{version.protocol.code}/versions/2/modifier/"


def test_a_malformed_participation_id_is_a_message_not_an_error(demo, published) -> None:
    """A malformed id is a miss like an unknown one (security.access.get_or_not_found)."""
    protocol = published().protocol
    response = web(demo["coord"]).post(
        f"/protocoles/{protocol.code}/participants/", {"end": "pas-un-id"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/protocoles/{protocol.code}/"


@pytest.mark.parametrize(
    "path", ["protocols/guide/apis.py", "protocols/guide/views.py", "protocols/forms.py"]
)
def test_the_guide_interfaces_do_not_touch_the_orm(path: str) -> None:
    source = (ROOT / path).read_text()
    assert ".objects." not in source
    assert ".save(" not in source
