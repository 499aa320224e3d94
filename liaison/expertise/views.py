"""French pages of tele-expertise: the requests list and worklist, the two-minute form, the
reading view (question, context and photos side by side, the answer form, "ask for more" in
one click). Thin: they parse, call liaison.expertise's selectors and services, and render; a
DomainError is a message on the page, never a 500.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from config.downloads import download_response
from directory.models import Member
from directory.permissions import member_page
from liaison import catalogue, forms, selectors, states
from liaison.expertise import selectors as expertise_selectors
from liaison.expertise import services
from liaison.models import ExpertiseRequest, LiaisonSheet
from liaison.services import attachments, transitions
from security.exceptions import DomainError, FieldErrors, NotFound
from security.files import open_file

EXPERTISE = LiaisonSheet.Kind.EXPERTISE
PATIENT_KEYS = ("birth_family_name", "given_names", "birth_date", "sex", "ins")
CONTENT_KEYS = ("specialty", "urgency", "question", "medical_history", "comment")


def _access(member: Member, code: UUID) -> LiaisonSheet:
    sheet = selectors.access_sheet(member, code)
    if sheet.kind != EXPERTISE:
        raise NotFound("expertise request")
    return sheet


@member_page
def request_list(request: HttpRequest, member: Member) -> HttpResponse:
    """The expert's worklist (by urgency, then due date) and the requester's own requests."""
    selectors.record_list_read(member, source="expertise_web", filters={})
    inbox = list(expertise_selectors.request_list(member, box="inbox")[:100])
    outbox = list(expertise_selectors.request_list(member, box="outbox")[:100])
    return render(request, "expertise/list.html", {
        "inbox": [_row(sheet) for sheet in inbox],
        "outbox": [_row(sheet) for sheet in outbox],
    })  # fmt: skip


def _row(sheet: LiaisonSheet) -> dict[str, Any]:
    detail: ExpertiseRequest | None = getattr(sheet, "expertise", None)
    return {
        "sheet": sheet,
        "patient": sheet.patient,
        "specialty": catalogue.choice_label(catalogue.SPECIALTY, sheet.content.get("specialty")),
        "detail": detail,
        "overdue": expertise_selectors.is_overdue(detail, sheet.status),
    }


def _form_data(post: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    patient = {key: post.get(f"patient.{key}", "").strip() for key in PATIENT_KEYS}
    patient = {key: value for key, value in patient.items() if value}
    patient["identity_status"] = "QUAL" if patient.get("ins") else "PROV"
    content: dict[str, Any] = {key: post.get(key, "").strip() for key in CONTENT_KEYS}
    content["allergies_none_known"] = post.get("allergies_none_known") == "on"
    content["patient_consent"] = post.get("patient_consent") == "on"
    return patient, content


@member_page
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest, member: Member) -> HttpResponse:
    """The request in two minutes on a phone: who, to whom, the question, a photo, consent."""
    services_list = expertise_selectors.expert_services()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        patient, content = _form_data(request.POST)
        values = {**{f"patient_{k}": v for k, v in patient.items()}, **content}
        service = selectors.organisation_by_code(request.POST.get("recipient_organisation", ""))
        values["recipient_organisation"] = str(service.code) if service else ""
        try:
            sheet = services.create_and_send(
                actor=member, patient=patient, content=content, recipient_organisation=service,
                photos=request.FILES.getlist("photos"),
                send=request.POST.get("intent") != "draft",
            )  # fmt: skip
        except FieldErrors as error:
            errors = error.labelled
        except DomainError as error:
            errors = {"__all__": [str(error.detail)]}
        else:
            messages.success(request, _("Demande d'avis envoyée.") if sheet.status != "draft"
                             else _("Brouillon enregistré."))  # fmt: skip
            return redirect("expertise-request", code=sheet.code)
    return render(request, "expertise/form.html", {
        "services": services_list, "errors": errors, "values": values,
        "specialties": catalogue.SPECIALTY, "urgencies": catalogue.URGENCY,
        "sexes": catalogue.SEX,
    }, status=400 if errors else 200)  # fmt: skip


@member_page
def request_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The reading view: the question and context beside the photos, the answer, the steps."""
    sheet = _access(member, code)
    services.mark_answer_read(actor=member, sheet=sheet)
    detail = services.detail_of(sheet) if sheet.status != "draft" else None
    files = list(selectors.attachments_of(sheet))
    available = {action.name for action in states.available(member, sheet)}
    counts = expertise_selectors.yearly_counts(detail) if detail is not None else None
    warnings = expertise_selectors.billing_warnings(detail, counts) if detail and counts else []
    return render(request, "expertise/detail.html", {
        "sheet": sheet, "content": sheet.content, "detail": detail,
        # Dates are stored ISO and read the French way (23/11/2026), as on the sheets.
        "patient": {
            **sheet.patient,
            "birth_date": forms.french_date(sheet.patient.get("birth_date") or ""),
        },
        "specialty": catalogue.choice_label(catalogue.SPECIALTY, sheet.content.get("specialty")),
        "images": [f for f in files if f.content_type.startswith("image/")],
        "documents": [f for f in files if not f.content_type.startswith("image/")],
        "actions": available, "labels": {name: a.label for name, a in states.ACTIONS.items()},
        "events": list(selectors.events_of(sheet)), "consultations": ExpertiseRequest.Consultation,
        "counts": counts, "warnings": warnings,
        "overdue": expertise_selectors.is_overdue(detail, sheet.status),
        "answer": detail.answer if detail is not None else {},
    })  # fmt: skip


@member_page
@require_POST
def request_action(request: HttpRequest, member: Member, code: UUID, action: str) -> HttpResponse:
    """One button of the reading view; a refusal is a message on the page."""
    sheet = _access(member, code)
    note = request.POST.get("note", "")
    calls = {
        "take": lambda: services.take(actor=member, sheet=sheet),
        "ask_more": lambda: services.ask_more(actor=member, sheet=sheet, note=note),
        "resend": lambda: services.resend(
            actor=member,
            sheet=sheet,
            expected_version=sheet.version,
            note=note,
            content={"comment": request.POST.get("comment", "")}
            if request.POST.get("comment")
            else None,
        ),
        "answer": lambda: services.answer(
            actor=member,
            sheet=sheet,
            opinion=request.POST.get("opinion", ""),
            recommended_actions=request.POST.get("recommended_actions", ""),
            consultation=request.POST.get("consultation_needed", ""),
        ),
        "refuse": lambda: services.refuse(actor=member, sheet=sheet, note=note),
        "withdraw": lambda: services.withdraw(actor=member, sheet=sheet, note=note),
        "acknowledge": lambda: services.acknowledge(actor=member, sheet=sheet),
        "send": lambda: transitions.send_sheet(actor=member, sheet=sheet),
        "referral": lambda: services.referral_from_answer(actor=member, sheet=sheet),
    }
    if action not in calls:
        return redirect("expertise-request", code=code)
    try:
        if action == "resend":
            for photo in request.FILES.getlist("photos"):
                attachments.add_attachment(
                    actor=member, sheet=sheet, fileobj=photo,
                    filename=photo.name or "", size=photo.size or 0,
                )  # fmt: skip
        result = calls[action]()
    except FieldErrors as error:
        messages.error(request, error.readable())
    except DomainError as error:
        messages.error(request, str(error.detail))
    else:
        if action == "referral" and isinstance(result, LiaisonSheet):
            return redirect("liaison-edit", code=result.code)
        messages.success(request, _("C'est fait."))
    return redirect("expertise-request", code=code)


@member_page
def request_image(
    request: HttpRequest, member: Member, code: UUID, attachment_code: UUID
) -> HttpResponseBase:
    """A photo shown inline in the reading view, decrypted on the fly and never cached."""
    attachment = selectors.access_attachment(member, code, attachment_code)
    return download_response(
        open_file(attachment, "file"), content_type=attachment.content_type,
        filename=attachment.filename, size=attachment.size, inline=True,
    )  # fmt: skip
