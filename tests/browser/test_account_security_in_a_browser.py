"""A member manages their API tokens from the account pages, at desktop and phone widths.

The page is where a GP who scripts an export, or a nurse whose tablet was lost, makes and
kills tokens: it must read in French, fit a 360 px screen, and pass axe without a serious or
critical violation. The token it shows once must work on the API, and stop working once
revoked.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from directory.models import Member
from tests.browser.reading import assert_reads_well

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def call_api_with(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/me/").status_code


@pytest.mark.parametrize("width", [1366, 360], ids=["desktop", "phone"])
def test_a_member_makes_a_token_uses_it_and_revokes_it(
    demo: dict[str, Member], signed_in: Callable[[str], Page], width: int
) -> None:
    page = signed_in("dr.martin")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(page.url.rstrip("/") + "/securite/jetons/")
    expect(page.get_by_role("heading", name="Jetons d'API", level=1)).to_be_visible()
    assert_reads_well(page)

    page.get_by_label("Nom du jeton").fill("Export du cabinet")
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.get_by_text("Copiez-le maintenant")).to_be_visible()
    secret = page.locator("#new-api-token").inner_text().strip()
    assert len(secret) > 20
    assert call_api_with(secret) == 200
    assert_reads_well(page)

    # Shown once: a reload lists the token by its prefix, never the whole secret.
    page.goto(page.url)
    expect(page.get_by_text("Export du cabinet")).to_be_visible()
    assert secret not in page.content()

    page.get_by_role("button", name="Révoquer").first.click()
    expect(page.get_by_text("Révoqué").first).to_be_visible()
    assert call_api_with(secret) == 401
