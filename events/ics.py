"""iCalendar (RFC 5545) for one event and for a member's feed, written by hand: a handful of
properties, escaped and folded as the RFC says, with times in UTC (the "Z" form), which every
calendar converts to its own zone. No VTIMEZONE is needed then, and a daylight-saving change
cannot shift an event: the instant is stored, the wall clock is the reader's.

A case meeting appears with its kind and time only: its title, description and patient stay
in the application (a calendar is synchronised to phones and to other services).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.utils.timezone import now
from django.utils.translation import gettext as _

from events.models import Event
from worker.emails import absolute, mail_domain

PRODID = "-//CPTS Liaison//Agenda//FR"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space (RFC 5545 §3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _vevent(event: Event, url: str) -> list[str]:
    if event.is_case_meeting:
        summary, description = str(_("Réunion de concertation pluriprofessionnelle")), ""
    else:
        summary, description = event.title, event.theme or event.description
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.code}@{mail_domain()}",
        f"DTSTAMP:{_utc(now())}",
        f"DTSTART:{_utc(event.starts_at)}",
        f"DTEND:{_utc(event.ends_at)}",
        f"SUMMARY:{_escape(summary)}",
        f"SEQUENCE:{event.version}",
        f"STATUS:{'CANCELLED' if event.status == Event.Status.CANCELLED else 'CONFIRMED'}",
        f"URL:{absolute(url)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{_escape(description)}")
    location = event.place or event.video_link
    if location:
        lines.append(f"LOCATION:{_escape(location)}")
    lines.append("END:VEVENT")
    return lines


def calendar(events: Iterable[tuple[Event, str]], *, name: str = "") -> str:
    """A VCALENDAR holding each (event, its page's path)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    if name:
        lines.append(f"X-WR-CALNAME:{_escape(name)}")
    for event, url in events:
        lines += _vevent(event, url)
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
