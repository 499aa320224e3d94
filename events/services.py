"""Writes of the agenda: each one checks its rules, writes the change, its audit entry and its
notifications in one transaction (STYLE §2.4).

The rules (docs/events.md):
- an event ends after it starts (400 `ends_at`); a recurring rule yields at least one date
  (400 `recurrence`); the capacity is not below the places already taken (400 `capacity`);
- a past event (started) is read-only (409), except its attendance and its documents;
- a cancelled event is read-only too (409);
- cancelling tells everyone registered or waiting; moving the time tells them the new one;
- a place freed (a cancelled registration, a larger capacity) goes to the first on the
  waiting list, who is told;
- places are counted under a lock on the event's row (select_for_update, the whole write
  serialised on PostgreSQL; SQLite serialises writers anyway), so two members registering
  for the last place cannot both get it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import is_coordinator
from events import actions, events, recurrence, selectors
from events.models import CalendarFeed, Event, EventDocument, Invitation, Registration, Sector
from patients.identity import identified_patient, identity_indexes
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied, StaleVersion
from security.files import store_file
from security.idempotency import mark_replayed
from worker.services import notify

Status = Registration.Status
CHECK_IN_SALT = selectors.CHECK_IN_SALT
# A QR code opens the check-in from an hour before the start until a day after the end.
CHECK_IN_EARLY_SECONDS = 3600
CHECK_IN_LATE_SECONDS = 24 * 3600
EDITABLE_FIELDS = (
    "title",
    "theme",
    "description",
    "organisation",
    "place",
    "video_link",
    "starts_at",
    "ends_at",
    "capacity",
    "professions",
    "sectors",
    "open_to_public",
)
COORDINATION_KINDS = (Event.Kind.ANNUAL_DAY,)
MAX_SCORE = 5


# --- Checks ----------------------------------------------------------------------------------


def _require_manager(actor: Member, event: Event) -> None:
    if not selectors.can_manage(actor, event):
        raise PermissionDenied(_("Seuls l'organisateur et la coordination gèrent cet événement."))


def _require_open(event: Event, *, what: str) -> None:
    """A cancelled or past event is read-only (409), whatever the caller may otherwise do."""
    if event.status == Event.Status.CANCELLED:
        raise InvalidTransition(_("Cet événement est annulé."), status=event.status)
    if event.is_past:
        raise InvalidTransition(
            _("Cet événement a eu lieu : %(what)s n'est plus possible.") % {"what": what},
            status="past",
        )


def _check_times(
    starts_at: datetime | None, ends_at: datetime | None, errors: dict[str, Any]
) -> None:
    if starts_at is None:
        errors["starts_at"] = [_("Indiquez le début.")]
    if ends_at is None:
        errors["ends_at"] = [_("Indiquez la fin.")]
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = [_("La fin doit être après le début.")]


def _check_text(title: str, place: str, video_link: str, errors: dict[str, Any]) -> None:
    if not str(title).strip():
        errors["title"] = [_("Donnez un titre.")]
    if not str(place).strip() and not str(video_link).strip():
        errors["place"] = [_("Indiquez un lieu ou un lien de visioconférence.")]


def _check_publics(professions: Any, sectors: Any, errors: dict[str, Any]) -> None:
    if not isinstance(professions, list) or set(professions) - set(Member.Profession.values):
        errors["professions"] = [_("Profession inconnue.")]
    if not isinstance(sectors, list) or set(sectors) - set(Sector.values):
        errors["sectors"] = [_("Secteur inconnu.")]


def _taken(event: Event) -> int:
    return Registration.objects.filter(event=event, status=Status.REGISTERED).count()


def _locked(event: Event) -> Event:
    """The event's row, locked until the end of the transaction: places are counted once."""
    return Event.objects.select_for_update().get(pk=event.pk)


def _check_parent(
    actor: Member,
    parent: Event,
    kind: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    errors: dict[str, Any],
) -> None:
    """A session belongs to an upcoming annual day its author manages, within its hours."""
    if parent.kind != Event.Kind.ANNUAL_DAY or parent.parent_id is not None:
        errors["parent"] = [_("Seule la journée annuelle a des sessions.")]
        return
    if kind == Event.Kind.ANNUAL_DAY:
        errors["kind"] = [_("Une session n'est pas une journée annuelle.")]
        return
    _require_manager(actor, parent)
    _require_open(parent, what=_("ajouter une session"))
    if starts_at and ends_at and (starts_at < parent.starts_at or ends_at > parent.ends_at):
        errors["starts_at"] = [_("Une session a lieu pendant la journée.")]


def _checked_patient(
    kind: str, patient: dict[str, Any], errors: dict[str, Any]
) -> dict[str, Any] | None:
    """A case meeting's patient, identified as a conversation's is (names and birth date)."""
    if kind != Event.Kind.CASE_MEETING:
        errors["patient"] = [_("Seule une réunion de concertation concerne un patient.")]
        return None
    try:
        return identified_patient(
            patient, required_message=_("Obligatoire pour nommer le patient.")
        )
    except FieldErrors as error:
        errors.update(error.fields)
        return None


def _expanded(
    rule: dict[str, Any],
    parent: Event | None,
    kind: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    errors: dict[str, Any],
) -> tuple[dict[str, Any], list[tuple[datetime, datetime]]]:
    """The rule as stored and the dates it yields (errors on `recurrence` otherwise)."""
    if parent is not None or kind == Event.Kind.ANNUAL_DAY:
        errors["recurrence"] = [_("La journée annuelle et ses sessions ne se répètent pas.")]
        return rule, []
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        return rule, []  # the times' own errors are reported
    try:
        clean = recurrence.validated_rule(rule)
        return clean, recurrence.occurrences(starts_at, ends_at, clean)
    except FieldErrors as error:
        errors.update(error.fields)
        return rule, []


# --- Events ----------------------------------------------------------------------------------


@transaction.atomic
def create_event(
    *,
    actor: Member,
    kind: str,
    title: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    theme: str = "",
    description: str = "",
    organisation: Organisation | None = None,
    place: str = "",
    video_link: str = "",
    capacity: int | None = None,
    professions: list[str] | None = None,
    sectors: list[str] | None = None,
    open_to_public: bool = False,
    parent: Event | None = None,
    rule: dict[str, Any] | None = None,
    patient: dict[str, Any] | None = None,
    creation_key: str = "",
) -> Event:
    """Create an event (and, for a recurring rule, every occurrence after it).

    The annual day is the coordination's; a session of it is created by whoever manages the
    day, within the day's hours. A patient may be named by a case meeting only. Retried with
    the same Idempotency-Key, returns the first event, marked as a replay.
    """
    if creation_key:
        existing = Event.objects.filter(organiser=actor, creation_key=creation_key).first()
        if existing is not None:
            return mark_replayed(existing)
    errors: dict[str, Any] = {}
    if kind not in Event.Kind.values:
        errors["kind"] = [_("Type d'événement inconnu.")]
    _check_text(title, place, video_link, errors)
    _check_times(starts_at, ends_at, errors)
    professions, sectors = professions or [], sectors or []
    _check_publics(professions, sectors, errors)
    if kind in COORDINATION_KINDS and not is_coordinator(actor):
        raise PermissionDenied(_("La journée annuelle est organisée par la coordination."))
    if parent is not None:
        _check_parent(actor, parent, kind, starts_at, ends_at, errors)
    clean_patient = _checked_patient(kind, patient, errors) if patient else None
    occurrences: list[tuple[datetime, datetime]] = []
    if rule:
        rule, occurrences = _expanded(rule, parent, kind, starts_at, ends_at, errors)
    if errors or starts_at is None or ends_at is None:
        raise FieldErrors(errors)
    if occurrences:
        starts_at, ends_at = occurrences[0]
    fields = {
        "kind": kind,
        "title": title.strip(),
        "theme": theme.strip(),
        "description": description.strip(),
        "organiser": actor,
        "organisation": organisation,
        "place": place.strip(),
        "video_link": video_link.strip(),
        "capacity": capacity,
        "professions": professions,
        "sectors": sectors,
        "open_to_public": open_to_public,
        "parent": parent,
    }
    event = Event(
        **fields,
        starts_at=starts_at,
        ends_at=ends_at,
        recurrence=rule or {},
        patient=clean_patient,
        creation_key=creation_key,
        **(identity_indexes(clean_patient) if clean_patient else {}),
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        if not creation_key:
            raise
        return mark_replayed(Event.objects.get(organiser=actor, creation_key=creation_key))
    if len(occurrences) > 1:
        Event.objects.bulk_create(
            [
                Event(**fields, starts_at=start, ends_at=end, series=event)
                for start, end in occurrences[1:]
            ]
        )
    audit.record(
        actor=actor,
        action=actions.CREATE,
        target=event,
        extra={"kind": kind, "occurrences": max(len(occurrences), 1)},
    )
    return event


@transaction.atomic
def update_event(
    *, actor: Member, event: Event, expected_version: int, changes: dict[str, Any]
) -> Event:
    """Edit an upcoming event (If-Match: 412 when someone saved meanwhile).

    A change of time is told to everyone registered or waiting, with the new time in the
    notification's description; a larger capacity gives the freed places to the waiting list.
    """
    _require_manager(actor, event)
    event = _locked(event)
    if event.version != expected_version:
        raise StaleVersion(current_version=event.version)
    _require_open(event, what=_("la modification"))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise FieldErrors({key: [_("Ce champ ne se modifie pas.")] for key in sorted(unknown)})
    errors: dict[str, Any] = {}
    starts_at = changes.get("starts_at", event.starts_at)
    ends_at = changes.get("ends_at", event.ends_at)
    _check_times(starts_at, ends_at, errors)
    _check_publics(
        changes.get("professions", event.professions), changes.get("sectors", event.sectors), errors
    )
    _check_text(
        changes.get("title", event.title),
        changes.get("place", event.place),
        changes.get("video_link", event.video_link),
        errors,
    )
    capacity = changes.get("capacity", event.capacity)
    taken = _taken(event)
    if capacity is not None and capacity < taken:
        errors["capacity"] = [
            _("%(taken)s personnes sont déjà inscrites : la capacité ne peut pas être plus basse.")
            % {"taken": taken}
        ]
    if errors:
        raise FieldErrors(errors)
    moved = starts_at != event.starts_at or ends_at != event.ends_at
    changed = []
    for name, value in changes.items():
        if getattr(event, name) != value:
            setattr(event, name, value)
            changed.append(name)
    if changed:
        event.version += 1
        event.save(update_fields=[*changed, "version", "updated_at"])
        audit.record(
            actor=actor, action=actions.UPDATE, target=event, extra={"fields": sorted(changed)}
        )
    if moved:
        waiting = _members_with(event, [Status.REGISTERED, Status.WAITLISTED])
        notify(
            event=events.TIME_CHANGED,
            recipients=waiting,
            actor=actor,
            target=event,
            url=events.event_url(event),
        )
        # The reminder of the day before is due again for the new date.
        event.reminder_sent_at = None
        event.save(update_fields=["reminder_sent_at"])
    if "capacity" in changed:
        _promote_waiting(event, actor=actor)
    return event


def _members_with(event: Event, statuses: list[str]) -> list[Member]:
    return [
        registration.member
        for registration in Registration.objects.filter(
            event=event, status__in=statuses, member__isnull=False
        ).select_related("member")
        if registration.member is not None
    ]


@transaction.atomic
def cancel_event(*, actor: Member, event: Event) -> Event:
    """Cancel an upcoming event (and its sessions); everyone registered or waiting is told."""
    _require_manager(actor, event)
    _require_open(event, what=_("l'annulation"))
    updated = Event.objects.filter(pk=event.pk, status=Event.Status.SCHEDULED).update(
        status=Event.Status.CANCELLED, version=F("version") + 1, updated_at=now()
    )
    if updated != 1:
        raise InvalidTransition(_("Cet événement est déjà annulé."), status="cancelled")
    event.refresh_from_db()
    affected = [event, *selectors.sessions_of(event)]
    Event.objects.filter(parent=event).update(status=Event.Status.CANCELLED)
    audit.record(actor=actor, action=actions.CANCEL, target=event)
    told: list[Member] = []
    for each in affected:
        told += _members_with(each, [Status.REGISTERED, Status.WAITLISTED])
    notify(
        event=events.CANCELLED,
        recipients=told,
        actor=actor,
        target=event,
        url=events.event_url(event),
    )
    return event


# --- Invitations -----------------------------------------------------------------------------


@transaction.atomic
def invite(
    *,
    actor: Member,
    event: Event,
    members: list[Member] = (),  # type: ignore[assignment]
    organisations: list[Organisation] = (),  # type: ignore[assignment]
    professions: list[str] = (),  # type: ignore[assignment]
) -> list[Invitation]:
    """Invite members, every member of organisations, or whole professions; each one reached
    (and active) is told once. Inviting again someone already invited adds nothing."""
    _require_manager(actor, event)
    _require_open(event, what=_("l'invitation"))
    unknown = set(professions) - set(Member.Profession.values)
    if unknown:
        raise FieldErrors({"professions": [_("Profession inconnue.")]})
    if not (members or organisations or professions):
        raise FieldErrors(
            {"members": [_("Invitez au moins un membre, une structure ou une profession.")]}
        )
    before = {member.pk for member in selectors.invited_members(event)}
    existing = selectors.invitations_of(event)
    have = (
        {("m", i.member_id) for i in existing if i.member_id}
        | {("o", i.organisation_id) for i in existing if i.organisation_id}
        | {("p", i.profession) for i in existing if i.profession}
    )
    rows = [
        Invitation(event=event, member=m, invited_by=actor)
        for m in members
        if ("m", m.pk) not in have
    ]
    rows += [
        Invitation(event=event, organisation=o, invited_by=actor)
        for o in organisations
        if ("o", o.pk) not in have
    ]
    rows += [
        Invitation(event=event, profession=p, invited_by=actor)
        for p in set(professions)
        if ("p", p) not in have
    ]
    created = Invitation.objects.bulk_create(rows)
    reached = [m for m in selectors.invited_members(event) if m.pk not in before]
    notify(
        event=events.INVITED,
        recipients=reached,
        actor=actor,
        target=event,
        url=events.event_url(event),
    )
    audit.record(
        actor=actor,
        action=actions.INVITE,
        target=event,
        extra={"invitations": len(created), "members_reached": len(reached)},
    )
    return created


# --- Registration ----------------------------------------------------------------------------


@transaction.atomic
def register(*, actor: Member, event: Event) -> Registration:
    """One click: a place if there is one, else the waiting list. Registering again answers
    the registration as it is (a double click registers once)."""
    event = _locked(event)
    _require_open(event, what=_("l'inscription"))
    registration = selectors.registration_of(actor, event)
    if registration is not None and registration.status in (Status.REGISTERED, Status.WAITLISTED):
        return registration
    full = event.capacity is not None and _taken(event) >= event.capacity
    status = Status.WAITLISTED if full else Status.REGISTERED
    if registration is None:
        registration = Registration.objects.create(
            event=event,
            member=actor,
            status=status,
            profession=actor.profession,
            sector=selectors.sector_of(actor),
        )
    else:
        registration.status = status
        registration.created_at = now()  # back at the end of the waiting list
        registration.save(update_fields=["status", "created_at"])
    audit.record(
        actor=actor, action=actions.REGISTER, target=registration, extra={"status": status}
    )
    return registration


@transaction.atomic
def decline(*, actor: Member, event: Event) -> Registration:
    """ "Je ne participe pas": said once; a place held is freed for the waiting list."""
    event = _locked(event)
    _require_open(event, what=_("la réponse"))
    registration = selectors.registration_of(actor, event)
    held = registration is not None and registration.status == Status.REGISTERED
    if registration is None:
        registration = Registration.objects.create(
            event=event,
            member=actor,
            status=Status.DECLINED,
            profession=actor.profession,
            sector=selectors.sector_of(actor),
        )
    elif registration.status != Status.DECLINED:
        registration.status = Status.DECLINED
        registration.save(update_fields=["status"])
    audit.record(actor=actor, action=actions.DECLINE, target=registration)
    if held:
        _promote_waiting(event, actor=actor)
    return registration


@transaction.atomic
def cancel_registration(*, actor: Member, event: Event) -> Registration:
    """Cancel one's registration (or leave the waiting list); a place freed goes to the first
    one waiting, who is told. 409 when there is nothing to cancel."""
    event = _locked(event)
    _require_open(event, what=_("l'annulation de l'inscription"))
    registration = selectors.registration_of(actor, event)
    if registration is None:
        raise InvalidTransition(_("Vous n'êtes pas inscrit."), status="none")
    updated = Registration.objects.filter(
        pk=registration.pk, status__in=[Status.REGISTERED, Status.WAITLISTED]
    ).update(status=Status.CANCELLED)
    if updated != 1:
        raise InvalidTransition(_("Vous n'êtes pas inscrit."), status=registration.status)
    held = registration.status == Status.REGISTERED
    registration.status = Status.CANCELLED
    audit.record(actor=actor, action=actions.CANCEL_REGISTRATION, target=registration)
    if held:
        _promote_waiting(event, actor=actor)
    return registration


def _promote_waiting(event: Event, *, actor: Member | None) -> list[Registration]:
    """Give the free places to the waiting list, first come first served; each one is told."""
    free = None if event.capacity is None else event.capacity - _taken(event)
    waiting = Registration.objects.filter(event=event, status=Status.WAITLISTED).order_by(
        "created_at", "pk"
    )
    promoted = list(waiting if free is None else waiting[: max(free, 0)])
    for registration in promoted:
        Registration.objects.filter(pk=registration.pk, status=Status.WAITLISTED).update(
            status=Status.REGISTERED
        )
        registration.status = Status.REGISTERED
        audit.record(actor=actor, action=actions.PROMOTE, target=registration)
    members = [r.member for r in promoted if r.member is not None]
    notify(
        event=events.PROMOTED,
        recipients=members,
        actor=None,
        target=event,
        url=events.event_url(event),
    )
    return promoted


@dataclass(frozen=True)
class External:
    """Who registers through the public page: no account, their consent recorded."""

    name: str
    email: str
    profession: str
    sector: str
    consent_to_contact: bool


@transaction.atomic
def register_external(*, event: Event, person: External) -> Registration:
    """An external participant (an elected official, an intern) registers to an open event.

    One registration per e-mail and event (registering again answers the first one); the
    consent to be contacted is recorded with its time. Audited without an actor.
    """
    event = _locked(event)
    _require_open(event, what=_("l'inscription"))
    errors: dict[str, Any] = {}
    if not person.name.strip():
        errors["name"] = [_("Indiquez votre nom.")]
    if "@" not in person.email:
        errors["email"] = [_("Indiquez une adresse e-mail valide.")]
    if person.sector not in Sector.values:
        errors["sector"] = [_("Choisissez un secteur.")]
    if not event.open_to_public:
        errors["event"] = [_("Cet événement n'est pas ouvert au public.")]
    if errors:
        raise FieldErrors(errors)
    email = person.email.strip().lower()
    existing = (
        Registration.objects.filter(event=event, member__isnull=True, external_email=email)
        .exclude(status=Status.CANCELLED)
        .first()
    )
    if existing is not None:
        return mark_replayed(existing)
    full = event.capacity is not None and _taken(event) >= event.capacity
    at = now()
    registration = Registration.objects.create(
        event=event,
        status=Status.WAITLISTED if full else Status.REGISTERED,
        external_name=person.name.strip()[:200],
        external_email=email,
        profession=person.profession[:32],
        sector=person.sector,
        consent_to_contact=person.consent_to_contact,
        consent_at=at if person.consent_to_contact else None,
        created_at=at,
    )
    audit.record(
        actor=None,
        action=actions.EXTERNAL_REGISTER,
        target=registration,
        extra={"status": registration.status},
    )
    return registration


# --- Attendance ------------------------------------------------------------------------------


def _check_attendance_time(event: Event) -> None:
    if event.status == Event.Status.CANCELLED:
        raise InvalidTransition(_("Cet événement est annulé."), status=event.status)
    if (event.starts_at - now()).total_seconds() > CHECK_IN_EARLY_SECONDS:
        raise InvalidTransition(_("L'émargement ouvre une heure avant le début."), status="future")


@transaction.atomic
def record_attendance(
    *,
    actor: Member,
    event: Event,
    present: list[Registration],
    absent: list[Registration] = (),  # type: ignore[assignment]
) -> int:
    """The organiser's sign-in list: who came, who did not (allowed after the event too)."""
    _require_manager(actor, event)
    _check_attendance_time(event)
    at = now()
    marked = Registration.objects.filter(
        event=event, pk__in=[r.pk for r in present], attended_at__isnull=True
    ).update(attended_at=at, attendance_method=Registration.Method.LIST)
    unmarked = Registration.objects.filter(
        event=event, pk__in=[r.pk for r in absent], attended_at__isnull=False
    ).update(attended_at=None, attendance_method="")
    audit.record(
        actor=actor,
        action=actions.ATTENDANCE,
        target=event,
        extra={"present": marked, "absent": unmarked},
    )
    return marked


def check_in_token(event: Event) -> str:
    """The token of an event's QR code: signed, so that only the site makes one."""
    return signing.dumps({"e": str(event.code)}, salt=CHECK_IN_SALT, compress=True)


def registration_token(registration: Registration) -> str:
    """A participant's own token (their ticket), which the organiser may scan instead."""
    return signing.dumps({"r": str(registration.code)}, salt=CHECK_IN_SALT, compress=True)


@transaction.atomic
def check_in(*, actor: Member, token: str) -> Registration:
    """Record attendance from a scanned QR code.

    An event's code, scanned by a participant logged in: their presence (registered, waiting
    or not registered at all: who came, came). A registration's code, scanned by the
    organiser: that participant's presence. Open from an hour before the start to a day after
    the end; scanning twice records once.
    """
    value = selectors.unsigned_token(token)
    if "r" in value:
        registration = Registration.objects.select_related("event").filter(code=value["r"]).first()
        if registration is None:
            raise FieldErrors({"token": [_("QR code invalide.")]})
        event = registration.event
        _require_manager(actor, event)
    else:
        event = selectors.access_event(actor, value.get("e", ""))
        registration = selectors.registration_of(actor, event)
    _check_attendance_time(event)
    if (now() - event.ends_at).total_seconds() > CHECK_IN_LATE_SECONDS:
        raise InvalidTransition(_("Ce QR code n'est plus valable."), status="past")
    at = now()
    if registration is None:
        registration = Registration.objects.create(
            event=event,
            member=actor,
            status=Status.REGISTERED,
            profession=actor.profession,
            sector=selectors.sector_of(actor),
            attended_at=at,
            attendance_method=Registration.Method.QR,
        )
    elif registration.attended_at is None:
        registration.attended_at = at
        registration.attendance_method = Registration.Method.QR
        registration.status = Status.REGISTERED
        registration.save(update_fields=["attended_at", "attendance_method", "status"])
    else:
        return registration
    audit.record(actor=actor, action=actions.CHECK_IN, target=registration)
    return registration


# --- Survey ----------------------------------------------------------------------------------


@transaction.atomic
def answer_survey(
    *, actor: Member, event: Event, scores: dict[str, Any], comment: str = ""
) -> Registration:
    """Answer the satisfaction survey of an event one attended, once.

    The answer is stored without the member, the registration or the time; the registration
    only keeps that it answered (the conditional UPDATE below: a second answer is a 409).
    """
    registration = selectors.registration_of(actor, event)
    if registration is None or registration.attended_at is None:
        raise InvalidTransition(
            _("Le questionnaire est réservé aux participants."), status="not_attended"
        )
    if event.ends_at > now():
        raise InvalidTransition(
            _("Le questionnaire ouvre à la fin de l'événement."), status="not_ended"
        )
    errors: dict[str, Any] = {}
    clean: dict[str, int] = {}
    for question in selectors.SURVEY_QUESTIONS:
        value = scores.get(question)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SCORE:
            errors[f"scores.{question}"] = [_("Une note de 1 à 5.")]
        else:
            clean[question] = value
    for key in set(scores) - set(selectors.SURVEY_QUESTIONS):
        errors[f"scores.{key}"] = [_("Question inconnue.")]
    if len(comment) > 2000:
        errors["comment"] = [_("2 000 caractères au plus.")]
    if errors:
        raise FieldErrors(errors)
    updated = Registration.objects.filter(pk=registration.pk, survey_answered=False).update(
        survey_answered=True
    )
    if updated != 1:
        raise InvalidTransition(_("Vous avez déjà répondu."), status="answered")
    event.survey_answers.create(scores=clean, comment=comment.strip())
    registration.survey_answered = True
    # The audit says who answered (as the flag does), never what: no score in `extra`.
    audit.record(actor=actor, action=actions.SURVEY_ANSWER, target=registration)
    return registration


# --- Documents -------------------------------------------------------------------------------


@transaction.atomic
def add_document(
    *,
    actor: Member,
    event: Event,
    kind: str,
    fileobj: Any,
    filename: str,
    size: int,
    content_type: str,
) -> EventDocument:
    """Minutes or slides, encrypted at rest (security.files), by whoever manages the event;
    allowed after the event (the minutes are written then)."""
    _require_manager(actor, event)
    if event.status == Event.Status.CANCELLED:
        raise InvalidTransition(_("Cet événement est annulé."), status=event.status)
    if kind not in EventDocument.Kind.values:
        raise FieldErrors({"kind": [_("Compte rendu ou support de présentation.")]})
    document = EventDocument(
        event=event,
        kind=kind,
        uploaded_by=actor,
        filename=filename[:200],
        content_type=content_type[:100] or "application/octet-stream",
        size=size,
    )
    store_file(document, "file", fileobj)
    document.save()
    audit.record(
        actor=actor,
        action=actions.DOCUMENT_ADD,
        target=event,
        extra={"document": str(document.code)},
    )
    return document


# --- Calendar feed ---------------------------------------------------------------------------


@transaction.atomic
def issue_calendar_feed(*, actor: Member) -> str:
    """A new secret for the member's feed; the previous URL stops working at once."""
    secret = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        member=actor, defaults={"digest": selectors.feed_digest(secret), "created_at": now()}
    )
    audit.record(actor=actor, action=actions.FEED_ISSUE, target=None)
    return secret


@transaction.atomic
def revoke_calendar_feed(*, actor: Member) -> bool:
    deleted, _rows = CalendarFeed.objects.filter(member=actor).delete()
    if deleted:
        audit.record(actor=actor, action=actions.FEED_REVOKE, target=None)
    return bool(deleted)
