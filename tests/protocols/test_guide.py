"""The resource guide: by theme and commune, on the page, in the API and as a PDF."""

from __future__ import annotations

import io
from datetime import time

import pytest
from django.test import Client
from django.utils.timezone import localdate
from pypdf import PdfReader

from directory.models import Organisation
from protocols.demo import load_protocols
from protocols.guide import selectors, services
from protocols.guide.pdf import render_guide_pdf
from protocols.guide.services import ThemeChoice
from protocols.models import Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide_demo(demo):
    load_protocols(demo)
    return demo


def test_it_groups_by_theme_then_commune(guide_demo) -> None:
    sections = selectors.guide()
    assert [s.theme.name for s in sections] == [
        "Personnes âgées",
        "Addictions",
        "Santé mentale",
        "Précarité",
        "Enfance",
        "Soins non programmés",
    ]
    unscheduled = next(s for s in sections if s.theme.slug == "soins-non-programmes")
    assert [c.name for c in unscheduled.communes] == [
        "Beaulieu-sur-Loire",
        "Gien",
        "Ousson-sur-Loire",
    ]
    gien = unscheduled.communes[1]
    assert [e.name for e in gien.entries] == ["Centre hospitalier de Gien — Urgences"]
    beaulieu = {e.name: e for e in unscheduled.communes[0].entries}
    assert beaulieu["MSP des Tilleuls"].office_hours[0].get_weekday_display() == "samedi"
    poor = next(s for s in sections if s.theme.slug == "precarite")
    names = [e.name for c in poor.communes for e in c.entries]
    assert "MOREAU Inès" in names  # a member, placed in her organisation's commune


def test_filters_narrow_the_guide(guide_demo) -> None:
    assert [s.theme.slug for s in selectors.guide(theme="addictions")] == ["addictions"]
    gien = selectors.guide(commune="Gien")
    assert {c.name for s in gien for c in s.communes} == {"Gien"}


def test_the_guide_page_is_printable(guide_demo, client) -> None:
    client.force_login(guide_demo["ide.petit"].user)
    page = client.get("/guide/").content.decode()
    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in page
    assert "Soins non programmés" in page
    assert "Consultations sans rendez-vous le samedi matin" in page
    assert "samedi 09:00–12:00" in page
    assert 'href="/guide/pdf/?theme=&amp;commune="' in page


def test_the_pdf_keeps_french_accents(guide_demo, client) -> None:
    client.force_login(guide_demo["ide.petit"].user)
    response = client.get("/guide/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in (
        "Guide des ressources",
        "Personnes âgées",
        "Précarité",
        "Soins non programmés",
        "Beaulieu-sur-Loire",
        "Médecine interne",
        "Pharmacie de la Loire",
    ):
        assert expected in text, expected


def test_the_pdf_renders_every_french_character_and_escapes_markup(demo) -> None:
    theme = Theme(name="Cœur, reçu, élève & <b>gras</b>", slug="x", description="Œuvre « là »")
    sections = [selectors.GuideTheme(theme, [selectors.GuideCommune("Saint-Étienne", [])])]
    pdf = render_guide_pdf(sections, cpts="CPTS d'Éçœ", on=localdate())
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in (
        "Cœur, reçu, élève & <b>gras</b>",
        "Œuvre « là »",
        "Saint-Étienne",
        "CPTS d'Éçœ",
    ):
        assert expected in text, expected


def test_the_api_serves_the_guide_and_its_pdf(guide_demo, client_for) -> None:
    client = client_for(guide_demo["hop.cardio"])
    body = client.get("/api/v1/guide/?theme=precarite").json()
    assert body[0]["theme"]["slug"] == "precarite"
    assert body[0]["communes"][0]["entries"][0]["office_hours"][0]["weekday_label"] == "mardi"
    assert client.get("/api/v1/guide/?ville=x").status_code == 400
    assert client.get("/api/v1/guide/?commune=Gi%00en").status_code == 400
    assert client.get("/api/v1/guide/pdf/").content.startswith(b"%PDF-")
    assert [t["slug"] for t in client.get("/api/v1/themes/").json()][:2] == [
        "personnes-agees",
        "addictions",
    ]


def test_the_guide_query_count_does_not_grow_with_its_size(
    guide_demo, django_assert_num_queries
) -> None:
    with django_assert_num_queries(5):
        selectors.guide()


def test_an_organisation_entry_is_edited_by_the_coordination_or_its_admins(
    demo, client_for, themes
) -> None:
    pharmacy = Organisation.objects.get(name="Pharmacie de la Loire")
    url = f"/api/v1/guide/organisations/{pharmacy.code}/"
    body = {
        "themes": [{"theme": "addictions", "note": "Substitution"}],
        "office_hours": [
            {"weekday": 2, "starts_at": "14:00", "ends_at": "18:00", "location": "Officine"}
        ],
    }
    assert client_for(demo["pharma.durand"]).put(url, body, format="json").status_code == 403
    response = client_for(demo["coord"]).put(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["themes"][0]["theme"]["slug"] == "addictions"
    assert response.json()["office_hours"][0]["starts_at"] == "14:00"
    bad = {**body, "office_hours": [{"weekday": 2, "starts_at": "18:00", "ends_at": "14:00"}]}
    assert client_for(demo["coord"]).put(url, bad, format="json").status_code == 400
    unknown = {**body, "themes": [{"theme": "astrologie"}]}
    assert client_for(demo["coord"]).put(url, unknown, format="json").status_code == 400


def test_a_member_edits_their_own_entry(demo, client_for, themes) -> None:
    url = f"/api/v1/guide/members/{demo['ide.petit'].code}/"
    body = {"themes": [{"theme": "Personnes âgées"}], "office_hours": []}
    assert client_for(demo["ide.petit"]).put(url, body, format="json").status_code == 200
    assert client_for(demo["dr.martin"]).put(url, body, format="json").status_code == 403
    assert (
        client_for(demo["dr.martin"]).get(url).json()["themes"][0]["theme"]["slug"]
        == "personnes-agees"
    )


def test_the_entry_form_saves_themes_and_hours(demo, themes) -> None:
    web = Client()
    web.force_login(demo["as.moreau"].user)
    url = f"/guide/membres/{demo['as.moreau'].code}/"
    assert web.get(url).status_code == 200
    response = web.post(
        url,
        {
            "themes": ["personnes-agees"],
            "note-personnes-agees": "Aide aux aidants",
            "hours-0-weekday": "3",
            "hours-0-starts_at": "09:00",
            "hours-0-ends_at": "12:00",
            "hours-0-location": "Mairie",
        },
    )
    assert response.status_code == 302
    links, hours = selectors.member_guide(demo["as.moreau"])
    assert [(link.theme.slug, link.note) for link in links] == [
        ("personnes-agees", "Aide aux aidants")
    ]
    assert [(h.weekday, h.starts_at, h.location) for h in hours] == [(3, time(9), "Mairie")]


def test_themes_are_managed_by_the_coordination(demo, client_for) -> None:
    assert (
        client_for(demo["dr.martin"])
        .post("/api/v1/themes/", {"name": "Enfance"}, format="json")
        .status_code
        == 403
    )
    response = client_for(demo["coord"]).post(
        "/api/v1/themes/", {"name": "Santé mentale"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["slug"] == "sante-mentale"
    assert (
        client_for(demo["coord"])
        .post("/api/v1/themes/", {"name": "Santé mentale"}, format="json")
        .status_code
        == 400
    )
    services.set_member_guide(
        actor=None,
        member=demo["dr.martin"],
        themes=[ThemeChoice(Theme.objects.get(slug="sante-mentale"))],
        office_hours=[],
    )
    assert selectors.guide()[0].communes[0].entries[0].name == "MARTIN Claire"
