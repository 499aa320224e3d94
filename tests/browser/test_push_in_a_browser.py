"""Push delivery in a real browser, against a real ASGI server (tests/push_server.py).

Two personas, two pages: one writes, the other's open conversation shows the message
without a reload, within a second, while polling would only come a minute later. With the
stream unreachable, the page says so and polls again, and the message still arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from directory.demo import load_directory
from messaging.services.conversations import start_conversation
from tests.browser.reading import serious_violations
from tests.push_server import PushServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FALLBACK = "Mises à jour en direct interrompues"


@pytest.fixture
def cpts(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return load_directory(password="demo")


@pytest.fixture
def open_as(browser: Browser, push_server: PushServer) -> Iterator[Callable[..., Page]]:
    """`open_as("dr.martin")`: a page of its own (own cookies), logged in on the ASGI server."""
    contexts = []

    def log_in(username: str, *, width: int = 1366) -> Page:
        context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{push_server.url}/connexion/")
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill("demo")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{push_server.url}/")
        return page

    yield log_in
    for context in contexts:
        context.close()


def write(page: Page, text: str) -> None:
    page.get_by_label("Répondre").fill(text)
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#messages")).to_contain_text(text)


def test_the_readers_page_shows_a_new_message_within_a_second(
    cpts, open_as, push_server: PushServer
) -> None:
    conversation = start_conversation(
        actor=cpts["dr.martin"], subject="Sortie de M. B.", participants=[cpts["pharma.durand"]]
    )
    path = f"{push_server.url}/messagerie/{conversation.code}/"
    reader = open_as("pharma.durand", width=360)
    reader.goto(path)
    expect(reader.locator("html")).to_have_attribute("data-push", "live")
    reader.evaluate("window.notReloaded = true")
    writer = open_as("dr.martin")
    writer.goto(path)
    expect(writer.locator("html")).to_have_attribute("data-push", "live")

    write(writer, "Le traitement de sortie est arrivé.")

    # Polling would take a minute here (push is live): only the pushed event explains it.
    expect(reader.locator("#messages")).to_contain_text(
        "Le traitement de sortie est arrivé.", timeout=1000
    )
    assert reader.evaluate("window.notReloaded") is True
    expect(reader.locator("#push-status")).to_have_text("")
    # The writer's bell is not the reader's: the reader's counts the new message's notification.
    expect(reader.locator("[data-unread-count]")).to_have_text("1", timeout=1000)
    assert serious_violations(reader) == []


def test_the_page_says_so_and_polls_when_the_stream_is_unreachable(
    cpts, open_as, push_server: PushServer
) -> None:
    conversation = start_conversation(
        actor=cpts["dr.martin"], subject="Pansement", participants=[cpts["ide.petit"]]
    )
    path = f"{push_server.url}/messagerie/{conversation.code}/"
    reader = open_as("ide.petit", width=360)
    reader.route("**/evenements/**", lambda route: route.abort())
    reader.goto(path)
    status = reader.locator("#push-status")
    expect(status).to_contain_text(FALLBACK)
    expect(reader.locator("html")).to_have_attribute("data-push", "down")
    assert serious_violations(reader) == []
    # Saying so moves nothing on the page (a link about to be pressed stays under the finger)
    # and hides nothing: the line sits at the window's foot, the page's end makes room for it.
    heading = reader.locator("h1").first
    shown_at = heading.bounding_box()
    status.evaluate("line => { line.dataset.text = line.textContent; line.textContent = ''; }")
    assert heading.bounding_box() == shown_at
    status.evaluate("line => { line.textContent = line.dataset.text; }")
    line = status.bounding_box()
    assert line is not None
    viewport = reader.viewport_size
    assert viewport is not None
    assert line["y"] + line["height"] == pytest.approx(viewport["height"])
    reader.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last = reader.locator(".site-footer").bounding_box()
    assert last is not None
    assert last["y"] + last["height"] <= line["y"]

    writer = open_as("dr.martin")
    writer.goto(path)
    write(writer, "La plaie est propre.")
    # Polling every 2 s (tests/push_server.py) brings it in, still without a reload.
    expect(reader.locator("#messages")).to_contain_text("La plaie est propre.", timeout=8000)
