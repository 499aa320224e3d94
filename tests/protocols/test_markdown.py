"""Sections are Markdown rendered safely: raw HTML escaped, links limited to http/https/mailto."""

from __future__ import annotations

import pytest
from django.test import Client

from protocols.markdown import render_markdown

pytestmark = pytest.mark.django_db

HOSTILE = (
    "## Conduite à tenir\n\n<script>alert('x')</script>\n\n"
    "[piège](javascript:alert(1)) [piège2](JaVaScRiPt:alert(2)) <javascript:alert(3)> "
    "[data](data:text/html;base64,PHNjcmlwdD4=) <img src=x onerror=alert(4)> ![img](https://evil.example/x.png)\n\n"
    "[HAS](https://www.has-sante.fr/) · [écrire](mailto:coordination@cpts.test)\n\n"
    "| Signe | Action |\n|---|---|\n| Chute | Appeler |"
)


def test_raw_html_is_escaped_and_dangerous_links_are_dropped() -> None:
    html = str(render_markdown(HOSTILE))
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    # The refused links stay visible as text, never as links.
    assert "[piège](javascript:alert(1))" in html
    assert "&lt;javascript:alert(3)&gt;" in html
    assert 'href="javascript' not in html.lower()
    assert 'href="data' not in html
    assert '<a href="https://www.has-sante.fr/">HAS</a>' in html
    assert '<a href="mailto:coordination@cpts.test">écrire</a>' in html
    assert "<h2>Conduite à tenir</h2>" in html
    assert "<table>" in html


def test_the_pages_and_the_api_render_it_safely(demo, client_for, published) -> None:
    version = published(steps=HOSTILE)
    web = Client()
    web.force_login(demo["ide.petit"].user)
    page = web.get(f"/protocoles/{version.protocol.code}/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert 'href="javascript' not in page.lower()
    api = (
        client_for(demo["ide.petit"])
        .get(f"/api/v1/protocols/{version.protocol.code}/versions/1/")
        .json()
    )
    assert api["steps"] == HOSTILE  # the source is kept as written
    assert "<script" not in api["rendered"]["steps"]
    assert 'href="javascript' not in api["rendered"]["steps"].lower()


def test_empty_sections_render_nothing() -> None:
    assert render_markdown("") == ""
    assert render_markdown("   \n") == ""
