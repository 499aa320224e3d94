"""Every page carries a Content-Security-Policy that allows no inline script or style."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from directory.models import Member

pytestmark = pytest.mark.django_db


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().partition(" ") for part in header.split(";") if part.strip())
    return {name: value for name, _space, value in directives}


def assert_strict(response) -> None:
    policy = policy_of(response)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def inline_scripts(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<script\b[^>]*>", html) if "src=" not in tag]


def test_the_login_page_has_the_policy(client: Client) -> None:
    response = client.get("/connexion/")
    assert_strict(response)
    assert not inline_scripts(response.content.decode())


def test_the_directory_page_has_the_policy(client: Client, demo: dict[str, Member]) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.get("/annuaire/")
    assert response.status_code == 200
    assert_strict(response)
    assert not inline_scripts(response.content.decode())


def test_the_api_docs_load_their_script_from_a_file(client: Client) -> None:
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert_strict(response)
    html = response.content.decode()
    assert not inline_scripts(html)
    assert "<style" not in html  # the CSP would block it
    script_src = re.search(r'<script src="([^"]*script=[^"]*)"', html)
    assert script_src, "the Swagger UI init script must be a separate file"
    script = client.get(script_src.group(1).replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_two_factor_pages_have_the_policy(client: Client, demo, settings) -> None:
    settings.REQUIRE_2FA = True
    client.force_login(demo["dr.martin"].user)
    response = client.get("/securite/2fa/activer/")
    assert_strict(response)
    html = response.content.decode()
    assert not inline_scripts(html)
    assert " style=" not in html  # the inline SVG QR code uses attributes, not styles


def test_api_answers_have_the_policy_too(client: Client) -> None:
    assert_strict(client.get("/api/v1/me/"))
