"""The coordinator's indicators page in a real browser, at 1366 px and 390 px, with axe.

What an ARS report takes from it: month names, a total row, a chart of one measure that shows
the demo's referrals, the protocols' follow-up columns, and a wide table that scrolls inside
its card (with a visible cue and the keyboard) while the page itself never scrolls sideways.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.timezone import localdate
from playwright.sync_api import Page, expect

from tests.browser.reading import serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


@pytest.mark.parametrize("width", [1366, 390])
def test_the_indicators_page_reads_well_on_a_desktop_and_a_phone(
    width: int, full_demo: Any, signed_in: Any, live_server: Any, page: Page
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    signed_in("coord")
    page.goto(f"{live_server.url}/indicateurs/")
    heading = page.get_by_role("heading", name="Indicateurs de la boucle ville-hôpital")
    expect(heading).to_be_visible()

    this_month = f"{MONTHS[localdate().month - 1]} {localdate().year}"
    rows = page.locator("table.indicators tbody tr")
    expect(rows).to_have_count(12)
    expect(rows.last.locator("th")).to_have_text(this_month)
    total = page.locator("table.indicators tfoot tr")
    expect(total.locator("th")).to_have_text("Total de la période")
    # The demo's referrals were all sent this month: the total is this month's figure.
    sent_this_month = rows.last.locator("td").first.inner_text()
    assert int(sent_this_month) > 0
    expect(total.locator("td").first).to_have_text(sent_this_month)
    headers = page.locator("table.indicators thead th")
    expect(headers.filter(has_text="Protocoles en vigueur")).to_have_count(1)
    expect(headers.filter(has_text="Professionnels engagés dans un protocole")).to_have_count(1)
    expect(headers.filter(has_text="Patients inclus dans un protocole")).to_have_count(1)
    expect(page.locator("#protocol-inclusions")).to_contain_text("Patients inclus")

    chart = page.get_by_role("img", name="Fiches d'entrée envoyées, par mois")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(1)
    expect(chart.locator("text.bar-value")).to_have_text(sent_this_month)

    # The table is wider than its card: it scrolls inside it, says so, and takes the keyboard.
    region = page.get_by_role("region", name="Indicateurs par mois, défilement horizontal")
    assert region.evaluate("e => e.scrollWidth > e.clientWidth")
    expect(page.locator("#indicator-scroll-hint")).to_be_visible()
    region.focus()
    assert page.evaluate("document.activeElement.classList.contains('table-scroll')")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    for _ in range(20):  # smooth scrolling takes a few frames (no wait_for_function: CSP)
        if region.evaluate("e => e.scrollLeft") > 0:
            break
        page.wait_for_timeout(50)
    assert region.evaluate("e => e.scrollLeft") > 0

    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
