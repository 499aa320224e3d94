"""Every page of the daily path, as the persona who uses it, on a desktop and on a phone.

RGAA (WCAG 2.1 AA) is what a French public-service tool is held to, and half of the CPTS
reads its worklist on a phone between two visits. So each page is checked at 1366 px and at
360 px for: no serious or critical axe-core violation, no horizontal scrolling, a favicon,
and no English word leaking into the French interface.

One test per persona, one logged-in browser context each, each page loaded once and read at
both widths (the layout is CSS alone; pytest-xdist's two workers share the personas out): the
whole demo (`manage.py load_demo`) is built once per session and replayed into each test (the
live server needs committed rows).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from directory.models import Member
from events.models import Event
from events.services import check_in_token
from liaison.models import LiaisonSheet
from liaison.selectors import sheets_visible_to
from messaging.selectors import conversations_visible_to
from protocols.selectors import protocols_visible_to
from tests.browser.reading import AXE, SERIOUS, _never_serious, problems_on
from tests.browser.signing_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 360)

Members = dict[str, Member]


def sheet_of(login: str, kind: str, status: str) -> Callable[[Members], str]:
    def url(members: Members) -> str:
        sheet = sheets_visible_to(members[login]).filter(kind=kind, status=status).first()
        assert sheet is not None, f"the demo has no {kind} {status} for {login}"
        return f"/liaison/{sheet.code}/" + ("modifier/" if status == "draft" else "")

    return url


def request_of(login: str, status: str) -> Callable[[Members], str]:
    """A tele-expertise request of the demo, in its reading view."""

    def url(members: Members) -> str:
        sheet = sheets_visible_to(members[login]).filter(kind="expertise", status=status).first()
        assert sheet is not None, f"the demo has no expertise request {status} for {login}"
        return f"/liaison/avis/{sheet.code}/"

    return url


def first_conversation(login: str) -> Callable[[Members], str]:
    def url(members: Members) -> str:
        conversation = conversations_visible_to(members[login]).order_by("pk").first()
        assert conversation is not None
        return f"/messagerie/{conversation.code}/"

    return url


def first_protocol(login: str) -> Callable[[Members], str]:
    def url(members: Members) -> str:
        protocol = protocols_visible_to(members[login]).order_by("pk").first()
        assert protocol is not None
        return f"/protocoles/{protocol.code}/"

    return url


def member_page(login: str, suffix: str = "") -> Callable[[Members], str]:
    def url(members: Members) -> str:
        return f"/annuaire/membres/{members[login].code}/{suffix}"

    return url


def event_page(suffix: str = "", **lookup: Any) -> Callable[[Members], str]:
    """A page of a demo event (the agenda's detail, or one under it)."""

    def url(members: Members) -> str:
        event = Event.objects.filter(**lookup).order_by("starts_at").first()
        assert event is not None, f"the demo has no event {lookup}"
        return f"/agenda/{event.code}/{suffix}"

    return url


def check_in_page(**lookup: Any) -> Callable[[Members], str]:
    def url(members: Members) -> str:
        event = Event.objects.filter(**lookup).order_by("starts_at").first()
        assert event is not None
        return f"/agenda/pointage/{check_in_token(event)}/"

    return url


def fixed(path: str) -> Callable[[Members], str]:
    return lambda members: path


def then(url: Callable[[Members], str], suffix: str) -> Callable[[Members], str]:
    """A page under another: the confirmation of an action on a sheet or a conversation."""
    return lambda members: url(members) + suffix


PAGES: dict[str, list[tuple[str, Callable[[Members], str]]]] = {
    "dr.martin": [
        ("accueil", fixed("/")),
        ("fiches", fixed("/liaison/")),
        ("fiches classées", fixed("/liaison/?onglet=classees")),
        ("brouillons", fixed("/liaison/?onglet=brouillons")),
        ("lettres non lues", fixed("/liaison/?kind=discharge&unread=on")),
        ("nouvelle fiche", fixed("/liaison/nouvelle/")),
        ("fiche envoyée", sheet_of("dr.martin", "referral", "sent")),
        ("annuler une demande", then(sheet_of("dr.martin", "referral", "sent"), "action/cancel/")),
        ("lettre de sortie reçue", sheet_of("dr.martin", "discharge", "sent")),
        ("télé-expertise", fixed("/liaison/avis/")),
        ("demande d'avis", fixed("/liaison/avis/nouvelle/")),
        ("avis rendu", request_of("dr.martin", "answered")),
        ("messagerie", fixed("/messagerie/")),
        ("conversation", first_conversation("dr.martin")),
        ("quitter une conversation", then(first_conversation("dr.martin"), "quitter/")),
        ("nouveau message", fixed("/messagerie/nouvelle/")),
        ("notifications", fixed("/notifications/")),
        ("préférences", fixed("/notifications/preferences/")),
        ("agenda", fixed("/agenda/")),
        ("journée annuelle", event_page(kind="annual_day")),
        ("session", event_page(parent__kind="annual_day")),
        ("permanence", event_page(kind="permanence")),
        ("réunion passée", event_page(title__startswith="Rencontre")),
        ("réunion de concertation", event_page(kind="case_meeting")),
        ("présence par QR code", check_in_page(kind="case_meeting")),
        ("agenda public", fixed("/agenda/public/")),
        (
            "inscription publique",
            lambda members: (
                event_page(kind="annual_day")(members).replace("/agenda/", "/agenda/public/")
                + "inscription/"
            ),
        ),
        ("double authentification", fixed("/securite/2fa/activer/")),
        ("jetons", fixed("/securite/jetons/")),
        ("mon compte", fixed("/compte/")),
    ],
    "hop.cardio": [
        ("accueil", fixed("/")),
        ("fiches", fixed("/liaison/")),
        ("fiches filtrées", fixed("/liaison/?kind=referral&status=sent&urgency=urgent")),
        ("en attente", fixed("/liaison/?onglet=en-attente")),
        ("fiche acceptée", sheet_of("hop.cardio", "referral", "accepted")),
        (
            "patient non venu",
            then(sheet_of("hop.cardio", "referral", "accepted"), "action/no_show/"),
        ),
        ("lettre de sortie", sheet_of("hop.cardio", "discharge", "draft")),
        ("messagerie", fixed("/messagerie/")),
    ],
    "dr.derm": [
        ("avis à rendre", fixed("/liaison/avis/")),
        ("demande prise en charge", request_of("dr.derm", "taken")),
        ("demande envoyée", request_of("dr.derm", "sent")),
    ],
    "ide.petit": [
        ("fiches", fixed("/liaison/")),
        ("questionnaire", event_page("questionnaire/", title__startswith="Formation")),
        ("protocoles", fixed("/protocoles/")),
        ("protocole", first_protocol("ide.petit")),
        ("notifications", fixed("/notifications/")),
        ("mon compte", fixed("/compte/")),
    ],
    "pharma.durand": [
        ("conversation", first_conversation("pharma.durand")),
        ("annuaire", fixed("/annuaire/")),
    ],
    "coord": [
        ("indicateurs", fixed("/indicateurs/")),
        ("guide", fixed("/guide/")),
        ("annuaire", fixed("/annuaire/?q=cardio")),
        ("protocoles", fixed("/protocoles/")),
        ("protocole", first_protocol("coord")),
        ("nouveau membre", fixed("/annuaire/membres/nouveau/")),
        ("import de l'annuaire", fixed("/guide/import/")),
        ("fiche d'un membre", member_page("ide.petit")),
        ("modifier un membre", member_page("ide.petit", "modifier/")),
        ("désactiver un membre", member_page("ide.petit", "desactiver/")),
        ("nouvel événement", fixed("/agenda/nouveau/")),
        ("événement à organiser", event_page(kind="annual_day")),
        ("modifier un événement", event_page("modifier/", kind="annual_day")),
        ("émargement", event_page("emargement/", title__startswith="Rencontre")),
        ("QR code de présence", event_page("qr/", title__startswith="Rencontre")),
        ("résultats d'enquête", event_page("resultats/", title__startswith="Rencontre")),
    ],
}


@pytest.mark.parametrize("persona", list(PAGES))
def test_every_page_reads_well_at_desktop_and_phone_widths(
    persona: str, full_demo: Members, browser: Browser, live_server: Any
) -> None:
    members = full_demo
    assert LiaisonSheet.objects.exists()
    context = browser.new_context(locale="fr-FR", viewport={"width": WIDTHS[0], "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, live_server.url, persona)
        problems: list[str] = []
        for name, url in PAGES[persona]:
            path = url(members)
            response = page.goto(live_server.url + path)
            assert response is not None, (name, path)
            assert response.status == 200, (name, path)
            # Loaded once, read at each width: the layout is CSS alone (no script reads the
            # screen's width, test_no_script_reads_the_screen_width), so a page narrowed to
            # a phone's width is the page a phone loads.
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                problems += [f"{name} @{width}px: {p}" for p in problems_on(page)]
            page.set_viewport_size({"width": WIDTHS[0], "height": 800})
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


def test_no_script_reads_the_screen_width() -> None:
    """What makes the every-page test's narrowing equal a phone's load: every difference
    between a desktop and a phone is in the style sheets' media queries."""
    scripts = sorted((Path(settings.BASE_DIR) / "static" / "js").glob("*.js"))
    assert scripts
    width_readers = re.compile(
        r"matchMedia|innerWidth|outerWidth|clientWidth|screen\.width|visualViewport|"
        r"[\"']resize[\"']|onresize"
    )
    readers = {script.name for script in scripts if width_readers.search(script.read_text())}
    assert readers == set()


def test_the_menu_folds_behind_a_button_on_a_phone(
    demo: Members, signed_in: Callable[[str], Page], page: Page, live_server: Any
) -> None:
    # The login page comes first, on every screen.
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(f"{live_server.url}/connexion/")
        assert problems_on(page) == []

    page = signed_in("coord")  # the longest menu: the coordination also has "Indicateurs"
    menu = page.get_by_role("button", name="Menu")
    worklist = page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Fiches de liaison"
    )
    page.set_viewport_size({"width": 1366, "height": 800})
    expect(menu).to_be_hidden()
    expect(worklist).to_be_visible()
    # A tablet, landscape then portrait: the header wraps or folds, never widens the page.
    for width in (1024, 768):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.set_viewport_size({"width": 360, "height": 800})
    expect(worklist).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    worklist.click()
    page.wait_for_url("**/liaison/")

    # A list is a pile of cards on a phone, each cell named by its column.
    page.goto(page.url.replace("/liaison/", "/annuaire/"))
    expect(page.locator("#members td[data-label='Profession']").first).to_be_visible()
    assert page.locator("#members thead").is_hidden()


def test_axe_leaves_out_only_rules_that_cannot_be_serious(page: Page) -> None:
    """The rules problems_on skips are axe's minor and moderate ones, and skipping them
    changes nothing it reports: on a page with serious findings, the same ones as a full run."""
    page.set_content(
        '<html lang="fr"><body><main><h3>Titre</h3><img src="x.png">'
        '<p style="color:#bbb;background:#fff">pâle</p><input type="text"></main></body></html>'
    )
    assert problems_on(page)  # fills the list of skipped rules, and finds the faults
    assert {"region", "heading-order", "landmark-one-main"} <= set(_never_serious)
    assert not {"color-contrast", "image-alt", "label", "html-has-lang"} & set(_never_serious)

    def serious(options: dict[str, Any]) -> list[tuple[str, int]]:
        violations = AXE.run(page, options=options).response["violations"]
        return sorted((v["id"], len(v["nodes"])) for v in violations if v["impact"] in SERIOUS)

    full = serious({"resultTypes": ["violations"]})
    assert {"color-contrast", "image-alt", "label"} <= {rule for rule, _nodes in full}
    assert serious({"resultTypes": ["violations"], "rules": _never_serious}) == full
