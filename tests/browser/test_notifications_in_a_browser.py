"""Notifications that say what they are about, and preferences by area, in a browser
(issue #16): at 1366 px and 360 px, no serious axe violation, nothing wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.utils.timezone import now
from playwright.sync_api import Page, expect

from directory.models import Member, Organisation
from liaison import events as liaison_events
from liaison.models import LiaisonSheet, SheetParticipant
from tests.browser.reading import problems_on
from tests.browser.test_every_page_in_a_browser import WIDTHS
from worker.services import enqueue_notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_folded_letters_and_grouped_preferences_read_well_on_every_screen(
    demo: dict[str, Member], signed_in: Callable[[str], Page], live_server: Any
) -> None:
    cardiologie = Organisation.objects.get(name="Cardiologie")
    for day in (1, 2, 3):
        sheet = LiaisonSheet.objects.create(
            kind=LiaisonSheet.Kind.DISCHARGE,
            status=LiaisonSheet.Status.SENT,
            sent_at=now(),
            author=demo["hop.cardio"],
            sender_organisation=cardiologie,
            discharge_date=date(2026, 12, day),
        )
        SheetParticipant.objects.create(
            sheet=sheet, member=demo["ide.petit"], role=SheetParticipant.Role.RECIPIENT
        )
        enqueue_notification(
            recipient=demo["ide.petit"],
            event=liaison_events.DISCHARGE_SENT,
            target=sheet,
            actor=demo["hop.cardio"],
            url=f"/liaison/{sheet.code}/",
        )
    page = signed_in("ide.petit")
    problems: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})

        page.goto(f"{live_server.url}/notifications/")
        folded = page.locator("main .notification-list details").first
        expect(folded.locator("summary")).to_contain_text("3 lettres de sortie de Cardiologie")
        expect(folded.locator("summary")).to_contain_text("à l'instant")
        folded.locator("summary").click()
        expect(folded).to_contain_text("Lettre de sortie de Cardiologie du 02/12/2026")
        problems += [f"notifications @{width}px: {p}" for p in problems_on(page)]

        menu = page.get_by_role("button", name="Menu")
        if menu.is_visible():  # on a phone the header folds behind it
            menu.click()
        page.locator("details.notifications-menu summary").click()
        expect(page.locator(".notifications-panel")).to_contain_text(
            "3 lettres de sortie de Cardiologie"
        )
        box = page.locator(".notifications-panel").bounding_box()
        assert box is not None
        assert box["x"] >= 0, (width, box)  # the whole panel on the screen, on every screen
        assert box["x"] + box["width"] <= width, (width, box)
        problems += [f"cloche @{width}px: {p}" for p in problems_on(page)]

        page.goto(f"{live_server.url}/notifications/preferences/")
        expect(page.get_by_role("heading", name="Protocoles")).to_be_visible()
        problems += [f"préférences @{width}px: {p}" for p in problems_on(page)]
    assert problems == [], "\n".join(problems)

    # One choice for the whole "Protocoles" group, without JavaScript's help.
    page.get_by_label("Pour tout le groupe « Protocoles »").select_option("in_app")
    page.get_by_role("button", name="Appliquer à tout le groupe").nth(2).click()
    expect(page.get_by_text("s'applique maintenant à tout le groupe")).to_be_visible()
    expect(page.get_by_label("Nouvelle version d'un protocole publiée par …")).to_have_value(
        "in_app"
    )
