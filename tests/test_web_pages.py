"""The French pages through Django's test client (the browser tests drive them for real)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client

from directory.models import Member, Organisation

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client) -> None:
    response = client.get("/annuaire/")
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


def test_the_login_page_is_in_french(client: Client) -> None:
    body = client.get("/connexion/").content.decode()
    assert "Se connecter" in body
    assert 'lang="fr"' in body


def test_a_member_logs_in_and_sees_the_home_page(client: Client, demo) -> None:
    response = client.post(
        "/connexion/", {"username": "dr.martin", "password": "demo"}, follow=True
    )
    body = response.content.decode()
    assert "Bonjour Claire Martin" in body
    assert "MSP des Tilleuls" in body


def test_the_directory_search_finds_members_and_organisations(client: Client, demo) -> None:
    client.force_login(demo["dr.martin"].user)
    body = client.get("/annuaire/?q=petit").content.decode()
    assert "Julie" in body
    assert "Sophie" not in body
    body = client.get("/annuaire/?profession=pharmacien").content.decode()
    assert "DURAND Marc" in body


def test_detail_pages_show_the_entries(client: Client, demo: dict[str, Member]) -> None:
    client.force_login(demo["ide.petit"].user)
    hospital = Organisation.objects.get(kind="hospital")
    body = client.get(f"/annuaire/organisations/{hospital.code}/").content.decode()
    assert "Cardiologie" in body
    body = client.get(f"/annuaire/membres/{demo['hop.cardio'].code}/").content.decode()
    assert "Cardiologie" in body
    assert demo["hop.cardio"].rpps in body


def test_unknown_entries_are_404(client: Client, demo) -> None:
    client.force_login(demo["ide.petit"].user)
    assert client.get("/annuaire/membres/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_api_docs_are_served_without_a_cdn(client: Client) -> None:
    body = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in body
    assert "cdn" not in body.lower()
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.parametrize("template", ["base.html", "400.html", "413.html", "500.html", "503.html"])
def test_every_page_and_error_page_has_the_favicon(template: str) -> None:
    """The error pages have their own <head>: a tab in error still shows whose site it is."""
    body = render_to_string(template)
    assert '<link rel="icon" href="/static/img/favicon.svg"' in body
    assert finders.find("img/favicon.svg")
