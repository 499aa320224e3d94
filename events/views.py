"""French pages of the agenda (/agenda/): the list, an event and its one-click answer, the
form, the organiser's sign-in list (a tablet) and QR code, the check-in the QR code opens, the
survey and its aggregated results, the public agenda and its registration form, the calendar
files. Thin: they parse, call events' selectors and services, and render; a DomainError is a
message on the page, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_time
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone, localtime, make_aware
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.downloads import download_response
from directory.models import Member, Organisation
from directory.permissions import member_page
from directory.selectors import is_coordinator, members_visible_to, organisations_visible_to
from events import actions, ics, selectors, services
from events.events import event_url
from events.models import Event, Registration, Sector
from security import audit
from security.client_address import client_address
from security.exceptions import DomainError, FieldErrors, NotFound
from security.files import open_file


def _questions() -> list[tuple[str, str]]:
    # Translated when the page is drawn (the labels above are evaluated at import, in French).
    labels = {
        "usefulness": _("L'événement vous a-t-il été utile ?"),
        "organisation": _("L'organisation (lieu, horaires, durée) vous a-t-elle convenu ?"),
        "exchanges": _("Les échanges entre professionnels ont-ils été riches ?"),
        "practice": _("Allez-vous changer quelque chose dans votre pratique ?"),
    }
    return [(key, labels[key]) for key in selectors.SURVEY_QUESTIONS]


@member_page
def agenda(request: HttpRequest, member: Member) -> HttpResponse:
    """Upcoming events (soonest first), then past ones (latest first)."""
    upcoming = list(
        selectors.with_counts(selectors.event_list(member, when="upcoming"), member)[:100]
    )
    past = list(selectors.with_counts(selectors.event_list(member, when="past"), member)[:50])
    return render(
        request,
        "events/agenda.html",
        {
            "upcoming": upcoming,
            "past": past,
            "can_create": True,
        },
    )


def _moment(post: Any, prefix: str) -> datetime | None:
    day, time = parse_date(post.get(f"{prefix}_date", "") or ""), None
    try:
        time = parse_time(post.get(f"{prefix}_time", "") or "")
    except ValueError:
        time = None
    if day is None or time is None:
        return None
    return make_aware(datetime.combine(day, time), get_current_timezone())


def _form_values(event: Event | None) -> dict[str, Any]:
    if event is None:
        return {"sectors": [], "professions": []}
    start, end = localtime(event.starts_at), localtime(event.ends_at)
    return {
        "kind": event.kind,
        "title": event.title,
        "theme": event.theme,
        "description": event.description,
        "place": event.place,
        "video_link": event.video_link,
        "organisation": str(event.organisation.code) if event.organisation else "",
        "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"),
        "end_date": end.date().isoformat(),
        "end_time": end.strftime("%H:%M"),
        "capacity": event.capacity or "",
        "sectors": event.sectors,
        "professions": event.professions,
        "open_to_public": event.open_to_public,
    }


def _posted(post: Any) -> dict[str, Any]:
    capacity = (post.get("capacity") or "").strip()
    return {
        "title": post.get("title", "").strip(),
        "theme": post.get("theme", "").strip(),
        "description": post.get("description", "").strip(),
        "place": post.get("place", "").strip(),
        "video_link": post.get("video_link", "").strip(),
        "starts_at": _moment(post, "start"),
        "ends_at": _moment(post, "end"),
        "capacity": int(capacity) if capacity.isdigit() and int(capacity) > 0 else None,
        "sectors": [s for s in post.getlist("sectors") if s in Sector.values],
        "professions": [p for p in post.getlist("professions") if p in Member.Profession.values],
        "open_to_public": post.get("open_to_public") == "on",
    }


def _organisation(code: str) -> Organisation | None:
    return selectors.organisation_by_code(code)


def _form_context(
    member: Member, values: dict[str, Any], errors: dict[str, Any], event: Event | None
) -> dict[str, Any]:
    kinds = [
        (k, label)
        for k, label in Event.Kind.choices
        if k != Event.Kind.ANNUAL_DAY or is_coordinator(member)
    ]
    annual_days = [
        day
        for day in selectors.event_list(member, when="upcoming", kind=Event.Kind.ANNUAL_DAY)
        if selectors.can_manage(member, day)
    ]
    return {
        "values": values,
        "errors": errors,
        "event": event,
        "kinds": kinds,
        "sectors": Sector.choices,
        "professions": Member.Profession.choices,
        "organisations": selectors.host_organisations(),
        "annual_days": annual_days,
    }


def _errors_for_page(error: FieldErrors) -> dict[str, Any]:
    return {
        key: [str(message) for message in messages_] for key, messages_ in error.labelled.items()
    }


@member_page
@require_http_methods(["GET", "POST"])
def new_event(request: HttpRequest, member: Member) -> HttpResponse:
    """Create an event: a meeting, a permanence (recurring), a session of the annual day..."""
    values: dict[str, Any] = _form_values(None)
    errors: dict[str, Any] = {}
    parent_code = request.GET.get("parent", "") or request.POST.get("parent", "")
    values["parent"] = parent_code
    if request.method == "POST":
        data = _posted(request.POST)
        values = _redisplayed(values, request.POST, data, (*EDITABLE_FIELDS, *CREATION_FIELDS))
        rule: dict[str, Any] | None = None
        if request.POST.get("freq"):
            count = request.POST.get("count", "").strip()
            rule = {
                "freq": request.POST["freq"],
                "count": int(count) if count.isdigit() else None,
                "until": request.POST.get("until") or None,
            }
        try:
            parent = selectors.access_event(member, parent_code) if parent_code else None
            event = services.create_event(
                actor=member,
                kind=request.POST.get("kind", ""),
                parent=parent,
                rule=rule,
                organisation=_organisation(request.POST.get("organisation", "")),
                creation_key=request.POST.get("form_key", "")[:64],
                **data,
            )
        except FieldErrors as error:
            errors = _errors_for_page(error)
        except DomainError as error:
            errors = {"__all__": [str(error.detail)]}
        else:
            messages.success(request, _("Événement créé."))
            return redirect("event-detail", code=(event.parent or event).code)
    context = _form_context(member, values, errors, None)
    return render(request, "events/form.html", context, status=400 if errors else 200)


# The form's fields shown back as typed when the page comes back with errors.
EDITABLE_FIELDS = (
    "title", "theme", "description", "place", "video_link", "organisation",
    "start_date", "start_time", "end_date", "end_time", "capacity",
)  # fmt: skip
CREATION_FIELDS = ("kind", "freq", "count", "until")  # fixed once the event exists


def _redisplayed(
    values: dict[str, Any], post: QueryDict, data: dict[str, Any], fields: tuple[str, ...]
) -> dict[str, Any]:
    """The form's values after a post: what was typed, and the lists and box as understood."""
    return {
        **values,
        **{key: post.get(key, "") for key in fields},
        "sectors": data["sectors"],
        "professions": data["professions"],
        "open_to_public": data["open_to_public"],
    }


@member_page
@require_http_methods(["GET", "POST"])
def edit_event(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """Edit an upcoming event (organiser, coordination); a new time is told to registrants."""
    event = selectors.access_event(member, code)
    if not selectors.can_manage(member, event):
        raise Http404
    values, errors = _form_values(event), {}
    if request.method == "POST":
        data = _posted(request.POST)
        values = _redisplayed(values, request.POST, data, EDITABLE_FIELDS)
        changes = dict(data)
        changes["organisation"] = _organisation(request.POST.get("organisation", ""))
        version = request.POST.get("version", "")
        try:
            services.update_event(
                actor=member,
                event=event,
                changes=changes,
                expected_version=int(version) if version.isdigit() else 0,
            )
        except FieldErrors as error:
            errors = _errors_for_page(error)
        except DomainError as error:
            errors = {"__all__": [str(error.detail)]}
        else:
            messages.success(request, _("Événement modifié."))
            return redirect("event-detail", code=event.code)
    context = _form_context(member, values, errors, event)
    return render(request, "events/form.html", context, status=400 if errors else 200)


@member_page
def event_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The event, its sessions or dates, and the one-click answer."""
    event = selectors.access_event(member, code)
    registration = selectors.registration_of(member, event)
    manage = selectors.can_manage(member, event)
    ended = event.ends_at <= localtime()
    sessions = selectors.sessions_of(event)
    session_answers = {s.pk: selectors.registration_of(member, s) for s in sessions}
    return render(
        request,
        "events/detail.html",
        {
            "event": event,
            "registration": registration,
            "manage": manage,
            "ended": ended,
            "started": event.is_past,
            "counts": selectors.registration_counts(event),
            "sessions": [(s, session_answers[s.pk]) for s in sessions],
            "occurrences": selectors.occurrences_of(event)
            if event.recurrence or event.series_id
            else [],
            "patient": selectors.event_patient(member, event) if event.is_case_meeting else None,
            "documents": selectors.documents_of(event),
            "invitable": list(members_visible_to(member)) if manage and not event.is_past else [],
            "invitable_organisations": list(organisations_visible_to(member))
            if manage and not event.is_past
            else [],
            "invited": selectors.invitations_of(event) if manage else [],
            "professions": Member.Profession.choices,
            "can_answer_survey": bool(
                registration
                and registration.attended_at
                and ended
                and not registration.survey_answered
            ),
        },
    )


@member_page
@require_POST
def answer_event(request: HttpRequest, member: Member, code: UUID, answer: str) -> HttpResponse:
    """One click: register (or the waiting list), decline, or cancel one's registration."""
    event = selectors.access_event(member, code)
    action = {
        "inscription": services.register,
        "refus": services.decline,
        "annulation": services.cancel_registration,
    }.get(answer)
    if action is None:
        raise Http404
    try:
        registration = action(actor=member, event=event)
    except DomainError as error:
        messages.error(request, error.readable())
    else:
        said: dict[str, str] = {
            Registration.Status.REGISTERED: _("Vous êtes inscrit."),
            Registration.Status.WAITLISTED: _(
                "L'événement est complet : vous êtes sur la liste d'attente."
            ),
            Registration.Status.DECLINED: _("Vous avez indiqué ne pas participer."),
            Registration.Status.CANCELLED: _("Votre inscription est annulée."),
        }
        messages.success(request, said[registration.status])
    back = event.parent or event
    return redirect("event-detail", code=back.code)


@member_page
@require_http_methods(["GET", "POST"])
def sign_in_list(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The organiser's sign-in list, on a tablet: tick who came, save."""
    event = selectors.access_event(member, code)
    if not selectors.can_manage(member, event):
        raise Http404
    registrations = [
        r
        for r in selectors.registrations_of(event)
        if r.status in (Registration.Status.REGISTERED, Registration.Status.WAITLISTED)
        or r.attended_at
    ]
    if request.method == "POST":
        present = set(request.POST.getlist("present"))
        try:
            services.record_attendance(
                actor=member,
                event=event,
                present=[r for r in registrations if str(r.code) in present],
                absent=[r for r in registrations if str(r.code) not in present],
            )
        except DomainError as error:
            messages.error(request, error.readable())
        else:
            messages.success(request, _("Émargement enregistré."))
        return redirect("event-sign-in", code=event.code)
    return render(
        request,
        "events/sign_in.html",
        {
            "event": event,
            "registrations": registrations,
        },
    )


def qr_svg(url: str) -> str:
    """The URL as an inline SVG QR code, drawn on the server (no script, no outside service)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10)
    return str(image.to_string(encoding="unicode"))


@member_page
def qr_code(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The QR code participants scan with their phone, logged in, to say they came."""
    event = selectors.access_event(member, code)
    if not selectors.can_manage(member, event):
        raise Http404
    url = request.build_absolute_uri(
        reverse("event-check-in", kwargs={"token": services.check_in_token(event)})
    )
    return render(
        request,
        "events/qr.html",
        {
            # Path data drawn by the qrcode library from a URL the site signed: no user text.
            "event": event,
            "qr": mark_safe(qr_svg(url)),  # noqa: S308
            "url": url,
        },
    )


@member_page
@require_http_methods(["GET", "POST"])
def check_in(request: HttpRequest, member: Member, token: str) -> HttpResponse:
    """What the QR code opens: "Je suis présent", one button for the logged-in participant."""
    if request.method == "POST":
        try:
            registration = services.check_in(actor=member, token=token)
        except FieldErrors:
            raise Http404 from None
        except DomainError as error:
            messages.error(request, error.readable())
            return redirect("agenda")
        messages.success(request, _("Votre présence est enregistrée. Merci !"))
        return redirect("event-detail", code=registration.event.code)
    try:
        event = selectors.check_in_event(member, token)
    except (FieldErrors, NotFound):
        raise Http404 from None
    return render(request, "events/check_in.html", {"event": event, "token": token})


@member_page
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The satisfaction survey: four questions from 1 to 5 and a comment, anonymous."""
    event = selectors.access_event(member, code)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        scores: dict[str, Any] = {}
        for key in selectors.SURVEY_QUESTIONS:
            raw = request.POST.get(key, "")
            scores[key] = int(raw) if raw.isdigit() else None
        values = {"scores": scores, "comment": request.POST.get("comment", "")}
        try:
            services.answer_survey(
                actor=member, event=event, scores=scores, comment=values["comment"]
            )
        except FieldErrors as error:
            errors = _errors_for_page(error)
        except DomainError as error:
            messages.error(request, error.readable())
            return redirect("event-detail", code=event.code)
        else:
            messages.success(request, _("Merci pour votre réponse."))
            return redirect("event-detail", code=event.code)
    return render(
        request,
        "events/survey.html",
        {
            "event": event,
            "questions": _questions(),
            "errors": errors,
            "values": values,
            "scale": range(1, 6),
        },
        status=400 if errors else 200,
    )


@member_page
def survey_results(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The survey's aggregates, for the organiser; nothing below three answers."""
    event = selectors.access_event(member, code)
    if not selectors.can_manage(member, event):
        raise Http404
    audit.record(actor=member, action=actions.SURVEY_RESULTS, target=event)
    results = selectors.survey_results(event)
    labels = dict(_questions())
    rows = [
        {
            **row,
            "label": labels[row["question"]],
            "bars": [
                (score, (row["distribution"] or {}).get(str(score), 0)) for score in range(1, 6)
            ],
        }
        for row in results["questions"]
    ]
    return render(
        request,
        "events/results.html",
        {
            "event": event,
            "results": results,
            "rows": rows,
            "counts": selectors.registration_counts(event),
            "attended": sum(1 for r in selectors.registrations_of(event) if r.attended_at),
        },
    )


@member_page
@require_POST
def invite(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """Invite members, organisations (their members) or whole professions, from the page."""
    event = selectors.access_event(member, code)
    wanted_members = set(request.POST.getlist("members"))
    wanted_organisations = set(request.POST.getlist("organisations"))
    try:
        services.invite(
            actor=member, event=event,
            members=[m for m in members_visible_to(member) if str(m.code) in wanted_members],
            organisations=[o for o in organisations_visible_to(member)
                           if str(o.code) in wanted_organisations],
            professions=[p for p in request.POST.getlist("professions")
                         if p in Member.Profession.values],
        )  # fmt: skip
    except DomainError as error:
        messages.error(request, error.readable())
    else:
        messages.success(request, _("Invitations envoyées."))
    return redirect("event-detail", code=event.code)


@member_page
@require_POST
def add_document(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """Minutes or slides, by the organiser (after the event too), encrypted at rest."""
    event = selectors.access_event(member, code)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Joignez un fichier."))
        return redirect("event-detail", code=event.code)
    try:
        services.add_document(
            actor=member, event=event, kind=request.POST.get("kind", ""), fileobj=upload,
            filename=upload.name or "document", size=upload.size or 0,
            content_type=upload.content_type or "",
        )  # fmt: skip
    except DomainError as error:
        messages.error(request, error.readable())
    else:
        messages.success(request, _("Document ajouté."))
    return redirect("event-detail", code=event.code)


@member_page
def download_document(
    request: HttpRequest, member: Member, code: UUID, document: UUID
) -> HttpResponseBase:
    """A document of the event, for its participants (404 for anyone else)."""
    event = selectors.access_event(member, code)
    stored = selectors.access_document(member, event, document)
    audit.record(actor=member, action=actions.DOCUMENT_READ, target=event,
                 extra={"document": str(stored.code)})  # fmt: skip
    return download_response(open_file(stored, "file"), content_type=stored.content_type,
                             filename=stored.filename, size=stored.size)  # fmt: skip


@member_page
def event_ics(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    event = selectors.access_event(member, code)
    response = HttpResponse(
        ics.calendar([(event, event_url(event))]), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="evenement-{event.code}.ics"'
    return response


def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """The personal feed at its secret URL (no login: calendars cannot log in); 404 once
    revoked. It lists the member's registered events, a case meeting by its kind only."""
    try:
        member = selectors.feed_owner(secret)
    except NotFound:
        raise Http404 from None
    body = ics.calendar(
        [(event, event_url(event)) for event in selectors.feed_events(member)],
        name=_("CPTS : mon agenda"),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


def public_agenda(request: HttpRequest) -> HttpResponse:
    """Upcoming events open to the public, without anyone's name (no login)."""
    return render(request, "events/public.html", {"events": list(selectors.public_events()[:100])})


def _throttled(request: HttpRequest) -> bool:
    """At most PUBLIC_REGISTRATION_PAGE_LIMIT posts per hour and client address."""
    key = f"events:public-registration:{client_address(request)}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    return count > settings.PUBLIC_REGISTRATION_PAGE_LIMIT


@require_http_methods(["GET", "POST"])
def public_registration(request: HttpRequest, code: UUID) -> HttpResponse:
    """An elected official or an intern registers: name, e-mail, sector, consent."""
    try:
        event = selectors.access_public_event(code)
    except NotFound:
        raise Http404 from None
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        if _throttled(request):
            return render(
                request,
                "events/public_register.html",
                {
                    "event": event,
                    "sectors": Sector.choices,
                    "values": {},
                    "throttled": True,
                    "errors": {
                        "__all__": [
                            _(
                                "Trop d'inscriptions depuis cette adresse : "
                                "réessayez dans une heure."
                            )
                        ]
                    },
                },
                status=429,
            )
        values = {
            key: request.POST.get(key, "").strip()
            for key in ("name", "email", "profession", "sector")
        }
        values["consent_to_contact"] = request.POST.get("consent_to_contact") == "on"
        try:
            registration = services.register_external(
                event=event,
                person=services.External(
                    name=values["name"],
                    email=values["email"],
                    profession=values["profession"],
                    sector=values["sector"],
                    consent_to_contact=values["consent_to_contact"],
                ),
            )
        except FieldErrors as error:
            errors = _errors_for_page(error)
        except DomainError as error:
            errors = {"__all__": [str(error.detail)]}
        else:
            return render(
                request,
                "events/public_done.html",
                {
                    "event": event,
                    "waitlisted": registration.status == Registration.Status.WAITLISTED,
                },
            )
    return render(
        request,
        "events/public_register.html",
        {
            "event": event,
            "sectors": Sector.choices,
            "values": values,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
