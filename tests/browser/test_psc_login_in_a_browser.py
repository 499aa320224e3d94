"""Pro Santé Connect in Chromium, against the real local provider (tools/psc-sandbox/).

The login page offers PSC first; a GP of the directory logs in with it (no TOTP on top, even
where the CPTS requires it); a professional PSC knows but the directory does not is refused
with a French page; logout ends our session and the provider's. The token checks (nonce,
expiry, signature, state, a provider down) run without a browser in
tests/directory/test_psc_login.py, against the same provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from tests.browser.reading import serious_violations
from tests.psc_sandbox import (
    MARTIN_RPPS,
    UNKNOWN_RPPS,
    Sandbox,
    configure,
    start_sandbox,
    stop_sandbox,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_psc_sandbox(live_server: Any) -> Iterator[Sandbox]:
    """The provider, with the live server's addresses registered for this client."""
    sandbox = start_sandbox(
        redirect_uris=[f"{live_server.url}/connexion/psc/retour/"],
        post_logout_uris=[f"{live_server.url}/connexion/"],
    )
    yield sandbox
    stop_sandbox(sandbox)


@pytest.fixture
def site_with_psc(browser_psc_sandbox: Sandbox, settings: Any) -> Sandbox:
    from django.core.cache import cache

    configure(settings, browser_psc_sandbox)
    settings.REQUIRE_2FA = True  # PSC is the strong authentication: no TOTP page follows
    browser_psc_sandbox.misbehave()
    cache.clear()
    load_directory(password="demo")
    return browser_psc_sandbox


def log_in_with_psc(page: Page, live_server: Any, rpps: str) -> None:
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    # The provider's own login page, on its own origin: choose the test identity.
    page.get_by_role("button", name=f"RPPS {rpps}").click()


@pytest.mark.parametrize("width", [1366, 360], ids=["desktop", "phone"])
def test_a_gp_of_the_directory_logs_in_with_psc_and_out_of_both(
    page: Page, live_server: Any, site_with_psc: Sandbox, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/connexion/")
    assert serious_violations(page) == []
    log_in_with_psc(page, live_server, MARTIN_RPPS)
    page.wait_for_url(f"{live_server.url}/")
    assert serious_violations(page) == []

    menu = page.get_by_role("button", name="Menu")
    if menu.is_visible():  # the phone's folded menu
        menu.click()
    page.get_by_role("button", name="Se déconnecter").click()
    # Through the provider's end-session endpoint and back to our login page.
    page.wait_for_url(f"{live_server.url}/connexion/")
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/connexion/")  # our session is over
    # ...and so is the provider's: PSC asks who you are again instead of logging you back in.
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    expect(page.get_by_role("button", name=f"RPPS {MARTIN_RPPS}")).to_be_visible()


def test_a_professional_unknown_to_the_directory_is_refused_in_french(
    page: Page, live_server: Any, site_with_psc: Sandbox
) -> None:
    log_in_with_psc(page, live_server, UNKNOWN_RPPS)
    expect(
        page.get_by_role("heading", name="Vous n'êtes pas encore dans l'annuaire de la CPTS")
    ).to_be_visible()
    expect(page.get_by_text("Élise Fontaine")).to_be_visible()  # the coordinator to ask
    assert serious_violations(page) == []
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/connexion/")
