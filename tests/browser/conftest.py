"""Headless Chromium driven by Playwright, on Debian's chromium (never a downloaded build)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.signing_in import sign_in

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying to reach Google from a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def login(page: Page, live_server) -> Callable[[str], Page]:
    """`login("dr.martin")`: the page, logged in through the real login form.

    For the tests about logging in; the others use `signed_in`, which skips the form's pages.
    """

    def log_in(username: str, password: str = "demo") -> Page:
        page.goto(f"{live_server.url}/connexion/")
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return log_in


@pytest.fixture
def signed_in(page: Page, live_server) -> Callable[[str], Page]:
    """`signed_in("dr.martin")`: the page, logged in (`sign_in`), on the home page."""

    def log_in(username: str, password: str = "demo") -> Page:
        return sign_in(page, live_server.url, username, password)

    return log_in
