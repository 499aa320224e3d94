"""Reads of the agenda: who sees which event, the lists, the survey's aggregates, the feeds.

Every event is visible to every active member of the CPTS (it is the life of the CPTS, meant
to be joined), except a case meeting, which only its organiser and the invited see: it may
concern a patient, and its identity follows the sheets' rule (404 for everyone else, reads of
the identity audited). The public agenda shows upcoming open events without any person.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any
from uuid import UUID

from django.core import signing
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import is_coordinator, organisation_ids_of
from events import actions
from events.models import CalendarFeed, Event, EventDocument, Invitation, Registration, Sector
from security import audit
from security.access import get_or_not_found
from security.exceptions import FieldErrors, NotFound

# The survey: a few questions scored 1 (not at all) to 5 (fully), and a free comment.
SURVEY_QUESTIONS: tuple[str, ...] = ("usefulness", "organisation", "exchanges", "practice")
# Aggregates are shown from this many answers: below it, a score could point at a person.
SURVEY_MIN_ANSWERS = 3
# Who is on the health side and who on the social side of a "meeting between medical and
# social actors" (the action plans' indicator).
CHECK_IN_SALT = "events.check-in"
HEALTH_SECTORS = (Sector.MEDICAL,)
SOCIAL_SECTORS = (Sector.SOCIAL, Sector.MEDICO_SOCIAL)

ORGANISATION_SECTORS = {
    Organisation.Kind.SOCIAL_SERVICE: Sector.SOCIAL,
    Organisation.Kind.MEDICO_SOCIAL: Sector.MEDICO_SOCIAL,
}


def sector_of(member: Member) -> str:
    """The sector a member counts in: a social worker or anyone working in a social (or
    medico-social) structure is social; every other professional of the CPTS is medical."""
    if member.profession == Member.Profession.SOCIAL_WORKER:
        return Sector.SOCIAL
    kinds = set(
        Organisation.objects.filter(pk__in=organisation_ids_of(member)).values_list(
            "kind", flat=True
        )
    )
    for kind, sector in ORGANISATION_SECTORS.items():
        if kind in kinds:
            return sector
    return Sector.MEDICAL


def invited_condition(member: Member, prefix: str = "") -> Q:
    """The events `member` is invited to: by name, through an organisation or a profession."""
    invitations = Invitation.objects.filter(
        Q(member=member)
        | Q(organisation_id__in=organisation_ids_of(member))
        | Q(profession=member.profession)
    )
    return Q(**{f"{prefix}pk__in": invitations.values("event_id")})


def events_visible_to(member: Member) -> QuerySet[Event]:
    """Every event but the case meetings `member` neither organises nor is invited to."""
    return Event.objects.filter(
        ~Q(kind=Event.Kind.CASE_MEETING) | Q(organiser=member) | invited_condition(member)
    ).select_related("organiser", "organisation", "parent")


def access_event(member: Member, code: UUID | str) -> Event:
    """The event if `member` may see it; NotFound (404) when missing or out of reach."""
    return get_or_not_found(events_visible_to(member), "event", code=code)


def event_patient(member: Member, event: Event) -> dict[str, Any] | None:
    """A case meeting's patient identity, for someone who sees the meeting; the read is
    audited (who read which meeting's patient, never the identity itself)."""
    if event.patient is None:
        return None
    audit.record(actor=member, action=actions.PATIENT_READ, target=event)
    return dict(event.patient)


def can_manage(member: Member, event: Event) -> bool:
    """The organiser edits an event, records attendance and adds documents; the coordination
    too, except a case meeting, which is its organiser's."""
    if event.organiser_id == member.pk:
        return True
    return not event.is_case_meeting and is_coordinator(member)


def event_list(
    member: Member,
    *,
    when: str = "",
    kind: str = "",
    starts_after: Any = None,
    starts_before: Any = None,
) -> QuerySet[Event]:
    """`when=upcoming` (not ended yet, soonest first) or `past` (latest first); sessions of the
    annual day are listed with their day, not on their own."""
    queryset = events_visible_to(member).filter(parent__isnull=True)
    if kind:
        queryset = queryset.filter(kind=kind)
    if starts_after:
        queryset = queryset.filter(starts_at__gte=starts_after)
    if starts_before:
        queryset = queryset.filter(starts_at__lt=starts_before)
    moment = now()
    if when == "upcoming":
        return queryset.filter(ends_at__gt=moment).order_by("starts_at", "pk")
    if when == "past":
        return queryset.filter(ends_at__lte=moment).order_by("-starts_at", "-pk")
    return queryset.order_by("starts_at", "pk")


def with_counts(queryset: QuerySet[Event], member: Member) -> QuerySet[Event]:
    """The list's figures in the same query: places taken, waiting list, the caller's answer."""
    mine = Registration.objects.filter(event=OuterRef("pk"), member=member)
    return queryset.annotate(
        registered_count=Count(
            "registrations", filter=Q(registrations__status=Registration.Status.REGISTERED)
        ),
        waitlisted_count=Count(
            "registrations", filter=Q(registrations__status=Registration.Status.WAITLISTED)
        ),
        is_registered=Exists(mine.filter(status=Registration.Status.REGISTERED)),
        is_waitlisted=Exists(mine.filter(status=Registration.Status.WAITLISTED)),
    )


def sessions_of(event: Event) -> list[Event]:
    return list(event.sessions.order_by("starts_at", "pk"))


def occurrences_of(event: Event) -> list[Event]:
    """The dates of the series an event belongs to (itself included), soonest first."""
    head_id = event.series_id or event.pk
    return list(Event.objects.filter(Q(pk=head_id) | Q(series_id=head_id)).order_by("starts_at"))


def registration_of(member: Member, event: Event) -> Registration | None:
    return Registration.objects.filter(event=event, member=member).first()


def registrations_of(event: Event) -> list[Registration]:
    """Every answer to an event, for its organiser: the sign-in list, the waiting list."""
    return list(
        Registration.objects.filter(event=event)
        .select_related("member")
        .order_by("status", "member__family_name", "external_name", "pk")
    )


def registered_members(event: Event) -> list[Member]:
    """The members holding a place (the waiting list is told separately)."""
    return [
        registration.member
        for registration in Registration.objects.filter(
            event=event, status=Registration.Status.REGISTERED, member__isnull=False
        ).select_related("member")
        if registration.member is not None
    ]


def registration_counts(event: Event) -> dict[str, int]:
    counts = Counter(Registration.objects.filter(event=event).values_list("status", flat=True))
    return {status: counts.get(status, 0) for status in Registration.Status.values}


def invited_members(event: Event) -> list[Member]:
    """Every active member an invitation reaches (by name, organisation or profession)."""
    invitations = list(Invitation.objects.filter(event=event))
    condition = Q(pk__in=[i.member_id for i in invitations if i.member_id])
    organisations = [i.organisation_id for i in invitations if i.organisation_id]
    professions = [i.profession for i in invitations if i.profession]
    if organisations:
        condition |= Q(memberships__organisation_id__in=organisations)
    if professions:
        condition |= Q(profession__in=professions)
    return list(Member.objects.filter(condition, is_active=True).distinct())


def invitations_of(event: Event) -> list[Invitation]:
    return list(Invitation.objects.filter(event=event).select_related("member", "organisation"))


def documents_of(event: Event) -> list[EventDocument]:
    return list(EventDocument.objects.filter(event=event).order_by("created_at", "pk"))


def access_document(member: Member, event: Event, code: UUID | str) -> EventDocument:
    """A document of an event the member sees: its participants and its organiser.

    A case meeting's documents are its invited's (the meeting is already theirs only); any
    other event's, anyone who registered, came, or manages it.
    """
    if not can_manage(member, event) and not event.is_case_meeting:
        registration = registration_of(member, event)
        if registration is None or registration.status != Registration.Status.REGISTERED:
            raise NotFound("document")
    return get_or_not_found(EventDocument.objects.filter(event=event), "document", code=code)


def survey_results(event: Event) -> dict[str, Any]:
    """The survey's aggregates: answers, mean and distribution per question, comments.

    Below SURVEY_MIN_ANSWERS nothing but the number of answers is given: with two answers,
    the organiser could tell who gave which score.
    """
    rows = list(event.survey_answers.values_list("scores", "comment"))
    shown = len(rows) >= SURVEY_MIN_ANSWERS
    questions = []
    for question in SURVEY_QUESTIONS:
        scores = [int(scores[question]) for scores, _comment in rows if question in scores]
        distribution = {str(score): scores.count(score) for score in range(1, 6)}
        questions.append(
            {
                "question": question,
                "answers": len(scores) if shown else None,
                "mean": round(sum(scores) / len(scores), 2) if shown and scores else None,
                "distribution": distribution if shown else None,
            }
        )
    comments = sorted(comment for _scores, comment in rows if comment) if shown else []
    return {
        "answers": len(rows),
        "shown": shown,
        "minimum": SURVEY_MIN_ANSWERS,
        "questions": questions,
        "comments": comments,
    }


def public_events() -> QuerySet[Event]:
    """The public agenda: upcoming open events, scheduled, without anyone's name."""
    return (
        Event.objects.filter(open_to_public=True, status=Event.Status.SCHEDULED)
        .exclude(kind=Event.Kind.CASE_MEETING)
        .filter(ends_at__gt=now())
        .select_related("organisation")
        .order_by("starts_at", "pk")
    )


def access_public_event(code: UUID | str) -> Event:
    return get_or_not_found(public_events(), "event", code=code)


def feed_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_owner(secret: str) -> Member:
    """Whose feed a secret URL is (NotFound for a revoked or unknown one)."""
    feed = get_or_not_found(
        CalendarFeed.objects.select_related("member").filter(member__is_active=True),
        "calendar feed",
        digest=feed_digest(secret),
    )
    return feed.member


def feed_events(member: Member) -> list[Event]:
    """The events of a personal feed: those the member registered to, from 90 days back."""
    from datetime import timedelta  # noqa: PLC0415

    mine = Registration.objects.filter(
        member=member, status__in=[Registration.Status.REGISTERED, Registration.Status.WAITLISTED]
    )
    return list(
        events_visible_to(member)
        .filter(pk__in=mine.values("event_id"), ends_at__gt=now() - timedelta(days=90))
        .order_by("starts_at")
    )


def unsigned_token(token: str) -> dict[str, str]:
    """What a check-in QR code says (an event's or a registration's code), if the site
    signed it; FieldErrors on `token` otherwise."""
    try:
        value = signing.loads(token, salt=CHECK_IN_SALT)
    except signing.BadSignature:
        raise FieldErrors({"token": [_("QR code invalide.")]}) from None
    if not isinstance(value, dict):
        raise FieldErrors({"token": [_("QR code invalide.")]})
    return value


def check_in_event(member: Member, token: str) -> Event:
    """The event an event's QR code points to, if `member` sees it (NotFound otherwise)."""
    value = unsigned_token(token)
    return access_event(member, value.get("e", ""))


def organisation_by_code(code: str) -> Organisation | None:
    """Where an event takes place (any organisation of the directory), or None."""
    if not code:
        return None
    try:
        return Organisation.objects.filter(code=UUID(str(code))).first()
    except ValueError:
        return None


def host_organisations() -> list[Organisation]:
    """The places an event may be hosted by (the form's choices): not a hospital's services."""
    return list(
        Organisation.objects.exclude(kind=Organisation.Kind.HOSPITAL_SERVICE).order_by("name")
    )
