"""The home page: a dashboard of what waits for the member, across the apps.

It lives in the project's wiring because it reads every clinical app (liaison, messaging,
protocols) and no app may import the ones beside it. Each count comes from its app's
selector, links to the list it counts, and costs one query.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from directory.models import Member
from directory.permissions import member_page
from directory.selectors import access_member
from liaison.selectors import dashboard_counts
from messaging.selectors import unread_total
from protocols.selectors import protocols_to_acknowledge


def _worklist(**filters: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return f"{reverse('liaison-worklist')}?{query}"


@member_page
def dashboard(request: HttpRequest, member: Member) -> HttpResponse:
    liaison = dashboard_counts(member)
    counts = [
        (
            "to_receive",
            _("Fiches à recevoir"),
            liaison["to_receive"],
            _worklist(kind="referral", status="sent"),
        ),
        (
            "to_accept",
            _("Fiches à accepter"),
            liaison["to_accept"],
            _worklist(kind="referral", status="received"),
        ),
        (
            "letters_to_write",
            _("Lettres de sortie à rédiger"),
            liaison["letters_to_write"],
            _worklist(kind="referral", status="accepted"),
        ),
        (
            "letters_unread",
            _("Lettres non lues"),
            liaison["letters_unread"],
            _worklist(kind="discharge", unread="on"),
        ),
        (
            "messages_unread",
            _("Messages non lus"),
            unread_total(member),
            reverse("messaging-inbox") + "?unread=on",
        ),
        (
            "protocols_to_acknowledge",
            _("Protocoles à prendre en compte"),
            protocols_to_acknowledge(member),
            reverse("protocol-library"),
        ),
    ]
    return render(
        request,
        "home.html",
        {
            "counts": [
                {"key": key, "label": label, "count": count, "url": url}
                for key, label, count, url in counts
            ],
            "organisations": [
                membership.organisation
                for membership in access_member(member, member.code).memberships.all()
            ],
        },
    )
