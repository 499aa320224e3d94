"""French web pages of the liaison loop: worklists, the sheet form, the sheet and its actions.

Thin like the API: they parse the form (liaison.forms), call the same selectors and services,
and render. A DomainError becomes a message on the page, never a 500.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.timezone import now
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from config.downloads import upload_download
from directory import selectors as directory_selectors
from directory.models import Member, Organisation
from directory.permissions import member_page
from liaison import catalogue, forms, selectors, states
from liaison.models import LiaisonSheet
from liaison.search import WorklistSearch
from liaison.services import attachments, discharge, drafts, filing, transitions
from patients.identity import identity_display
from security.exceptions import DomainError, FieldErrors

SheetStatus = LiaisonSheet.Status
TABS = {
    "a-traiter": gettext_lazy("À traiter"),
    "envoyees": gettext_lazy("Envoyées"),
    "en-attente": gettext_lazy("En attente de retour"),
    "brouillons": gettext_lazy("Brouillons"),
    "classees": gettext_lazy("Classées"),
}
WORKLIST_PAGE = 50


def lateness(late: timedelta) -> str:
    """ "en retard de 3 jours", of 5 hours under a day, of N minutes under an hour."""
    days, hours, minutes = late.days, late.seconds // 3600, late.seconds // 60
    if days:
        text = ngettext("%(n)d jour", "%(n)d jours", days) % {"n": days}
    elif hours:
        text = ngettext("%(n)d heure", "%(n)d heures", hours) % {"n": hours}
    else:
        text = ngettext("%(n)d minute", "%(n)d minutes", max(minutes, 1)) % {"n": max(minutes, 1)}
    return _("en retard de %(duration)s") % {"duration": text}


@member_page
def worklist(request: HttpRequest, member: Member) -> HttpResponse:
    search = WorklistSearch(request.GET)
    valid = search.is_valid()
    tab = search.tab if search.tab in TABS else "a-traiter"
    filters = search.filters() if valid else {}
    audited = {**filters, "tab": tab}
    selectors.record_list_read(member, source="web", filters=audited)
    queryset = selectors.worklist_for(member, tab, **filters)
    if not valid:
        queryset = queryset.none()
    page = Paginator(selectors.TriagedList(queryset, member), WORKLIST_PAGE).get_page(
        request.GET.get("page")
    )
    moment = now()
    rows = [
        {
            "sheet": sheet,
            "patient": sheet.patient,
            "birth_date": forms.french_date(sheet.patient.get("birth_date") or ""),
            "unread": sheet.status != SheetStatus.DRAFT
            and any(
                p.member_id == member.pk and p.read_at is None for p in sheet.participants.all()
            ),
            "late": lateness(late) if (late := selectors.overdue_by(sheet, at=moment)) else "",
            "can_file": filing.can_file(sheet) and tab in ("a-traiter", "classees"),
        }
        for sheet in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "liaison/worklist.html",
        {
            "tabs": TABS,
            "tab": tab,
            "rows": rows,
            "page": page,
            "search": search,
            "problems": [] if valid else search.problems(),
            "query": query.urlencode(),
            "filtering": bool(filters),
        },
        status=200 if valid else 400,
    )


def _form_context(
    member: Member,
    kind: str,
    sheet: LiaisonSheet | None,
    patient: dict[str, Any],
    content: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    participants = {p.member_id for p in sheet.participants.all()} if sheet else set()
    return {
        "kind": kind,
        "sheet": sheet,
        "sections": forms.bound_sections(kind, patient, content, errors),
        "services": selectors.hospital_services(),
        "members": [
            {"member": m, "checked": m.pk in participants}
            for m in directory_selectors.members_visible_to(member).exclude(pk=member.pk)
        ],
        "errors": errors or {},
        "document": (patient, content),
        # Shown on the saved identity only: what the RNIV asks to check, not an error.
        "identity_warnings": identity_display(sheet.patient)["warnings"] if sheet else [],
    }


def _people(request: HttpRequest, member: Member) -> list[Member]:
    return list(directory_selectors.members_with_codes(member, request.POST.getlist("people")))


def _recipient_service(request: HttpRequest) -> Organisation | None:
    code = request.POST.get("recipient_organisation", "")
    if not code:
        return None
    return selectors.organisation_by_code(code)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _save_response(request: HttpRequest, sheet: LiaisonSheet) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {
                "code": str(sheet.code),
                "version": sheet.version,
                "edit_url": f"/liaison/{sheet.code}/modifier/",
            }
        )
    if "send" in request.POST:
        messages.success(request, _("Fiche envoyée."))
        return redirect("liaison-sheet", code=sheet.code)
    messages.success(request, _("Brouillon enregistré."))
    return redirect("liaison-edit", code=sheet.code)


def _error_response(
    request: HttpRequest, error: DomainError, context: dict[str, Any]
) -> HttpResponse:
    fields = error.fields if isinstance(error, FieldErrors) else {}
    # Each problem names its field in words (liaison.catalogue), never by its key: the page's
    # error summary and the autosave line (JSON `problems`) show these.
    labelled = error.labelled if isinstance(error, FieldErrors) else {}
    problems = [message for messages in labelled.values() for message in messages]
    if _wants_json(request):
        return JsonResponse(
            {"detail": error.detail, "fields": fields, "problems": problems},
            status=error.status_code,
        )
    context["sections"] = forms.bound_sections(context["kind"], *context["document"], fields)
    context["errors"] = fields
    context["error_summary"] = problems
    if not fields:
        messages.error(request, error.detail)
    else:
        messages.error(request, _("Certains champs sont à compléter ou à corriger."))
    return render(request, "liaison/form.html", context, status=error.status_code)


@member_page
def new_referral(request: HttpRequest, member: Member) -> HttpResponse:
    if request.method != "POST":
        patient, lookup = selectors.identity_lookup(
            member, request.GET, source="web_known_identity"
        )
        context = _form_context(member, "referral", None, patient, {})
        return render(request, "liaison/form.html", {**context, "lookup": lookup})
    patient, content = forms.parse("referral", request.POST)
    sheet: LiaisonSheet | None = None
    try:
        sheet = drafts.create_draft(
            actor=member,
            kind="referral",
            patient=patient,
            content=content,
            recipient_organisation=_recipient_service(request),
            participants=_people(request, member),
            creation_key=request.POST.get("creation_key", "")[:64],
        )
        if "send" in request.POST:
            transitions.send_sheet(actor=member, sheet=sheet, idempotency_key=f"web-{sheet.code}")
    except DomainError as error:
        # The draft exists when only the sending failed: the form goes on editing it.
        context = _form_context(member, "referral", sheet, patient, content)
        return _error_response(request, error, context)
    return _save_response(request, sheet)


@member_page
def edit_sheet(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    sheet = selectors.access_sheet(member, code)
    if sheet.status != SheetStatus.DRAFT:
        return redirect("liaison-sheet", code=sheet.code)
    if request.method != "POST":
        content = sheet.content
        if not sheet.is_referral and not content.get("hospital_contact"):
            # The doctor who opens the letter is the one who signs it: shown, saved with it.
            signature = discharge.signing_doctor(member, sheet.sender_organisation)
            content = {**content, "hospital_contact": signature} if signature else content
        return render(
            request,
            "liaison/form.html",
            _form_context(member, sheet.kind, sheet, sheet.patient, content),
        )
    patient, content = forms.parse(sheet.kind, request.POST)
    try:
        sheet = drafts.update_draft(
            actor=member,
            sheet=sheet,
            expected_version=int(request.POST.get("version") or 0),
            patient=patient,
            content=content,
            participants=_people(request, member),
            **(
                {"recipient_organisation": _recipient_service(request)} if sheet.is_referral else {}
            ),
        )
        if "send" in request.POST:
            transitions.send_sheet(actor=member, sheet=sheet, idempotency_key=f"web-{sheet.code}")
    except DomainError as error:
        sheet.refresh_from_db()
        return _error_response(
            request, error, _form_context(member, sheet.kind, sheet, patient, content)
        )
    return _save_response(request, sheet)


@member_page
def sheet_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    sheet = selectors.access_sheet(member, code)
    if sheet.kind == LiaisonSheet.Kind.EXPERTISE:  # its reading view is tele-expertise's
        return redirect("expertise-request", code=sheet.code)
    if sheet.status == SheetStatus.DRAFT and selectors.is_on_sender_side(member, sheet):
        return redirect("liaison-edit", code=sheet.code)
    filing.open_sheet(actor=member, sheet=sheet)  # opening it is reading it (and its alerts)
    versions = list(selectors.versions_of(sheet)) if not sheet.is_referral else []
    previous = sheet.previous_version
    available = states.available(member, sheet)  # the services accept exactly these
    actions = {action.name for action in available}
    patient = dict(sheet.patient)
    patient["birth_date"] = forms.french_date(patient.get("birth_date") or "")
    return render(
        request,
        "liaison/detail.html",
        {
            "sheet": sheet,
            "patient": patient,
            "identity": identity_display(sheet.patient),
            "button_actions": {action.name for action in available if action.button},
            "action_labels": {action.name: action.label for action in available},
            "sections": forms.filled_sections(sheet.kind, sheet.patient, sheet.content),
            "participants": sheet.participants.all(),
            "events": selectors.events_of(sheet),
            "attachments": selectors.attachments_of(sheet),
            "actions": actions,
            "versions": versions,
            "changes": forms_changes(previous, sheet),
            "letters": selectors.letters_of(sheet) if sheet.is_referral else [],
            "services": selectors.hospital_services(excluding=sheet.recipient_organisation_id),
            "filing": _filing(member, sheet),
        },
    )


def _filing(member: Member, sheet: LiaisonSheet) -> dict[str, Any]:
    """The "Classer" / "Remettre à traiter" button of a sheet the member may file."""
    if not filing.can_file(sheet):
        return {"can": False}
    filed = selectors.is_filed_by(member, sheet)
    return {"can": True, "filed": filed, "action": "unfile" if filed else "file"}


def forms_changes(previous: LiaisonSheet | None, sheet: LiaisonSheet) -> list[str]:
    from liaison.documents import changed_sections  # noqa: PLC0415

    if previous is None:
        return []
    changed = changed_sections(previous.content, sheet.content)
    return [catalogue.key_label(sheet.kind, key) for key in changed]


# Destructive or irreversible actions: confirmed first (templates/confirm.html), with the
# reason the other side reads in the timeline when the loop needs one (decline, cancel).
CONFIRMATIONS: dict[str, dict[str, Any]] = {
    "cancel": {
        "title": gettext_lazy("Annuler la demande ?"),
        "text": gettext_lazy(
            "La demande est retirée et le service hospitalier en est prévenu, avec votre motif. "
            "Une demande annulée ne peut pas être reprise."
        ),
        "note": gettext_lazy("Motif de l'annulation"),
        "button": gettext_lazy("Annuler la demande"),
    },
    "decline": {
        "title": gettext_lazy("Refuser la demande ?"),
        "text": gettext_lazy(
            "Le médecin adresseur en est prévenu, avec votre motif. Un refus est définitif ; "
            "vous pouvez réorienter la demande vers un autre service."
        ),
        "note": gettext_lazy("Motif du refus"),
        "button": gettext_lazy("Refuser"),
        "redirect": True,
    },
    "no_show": {
        "title": gettext_lazy("Déclarer le patient non venu ?"),
        "text": gettext_lazy(
            "Le médecin adresseur en est prévenu ; il pourra relancer ou clôturer la demande."
        ),
        "note": gettext_lazy("Précision (facultatif)"),
        "button": gettext_lazy("Patient non venu"),
    },
}


def _confirm_page(
    request: HttpRequest,
    sheet: LiaisonSheet,
    action: str,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    spec = CONFIRMATIONS[action]
    errors = errors or {}
    fields: list[dict[str, Any]] = [
        {
            "name": "note",
            "label": spec["note"],
            "required": "note" in states.ACTIONS[action].required,
            "value": request.POST.get("note", ""),
            "error": errors.get("note"),
        }
    ]
    if spec.get("redirect"):
        fields.append(
            {
                "name": "redirect_to",
                "label": _("Réorienter vers (facultatif)"),
                "choices": [
                    (str(s.code), f"{s.parent.name} — {s.name}" if s.parent else s.name)
                    for s in selectors.hospital_services(excluding=sheet.recipient_organisation_id)
                ],
                "value": request.POST.get("redirect_to", ""),
                "error": errors.get("redirect_to"),
            }
        )
    confirm = {
        **spec,
        "url": reverse("liaison-action", kwargs={"code": sheet.code, "action": action}),
        "back": reverse("liaison-sheet", kwargs={"code": sheet.code}),
        "fields": fields,
    }
    return render(request, "confirm.html", {"confirm": confirm, "sheet": sheet}, status=status)


@member_page
@require_http_methods(["GET", "POST"])
def sheet_action(request: HttpRequest, member: Member, code: UUID, action: str) -> HttpResponse:
    sheet = selectors.access_sheet(member, code)
    if request.method == "POST":
        return _do_action(request, member, sheet, action)
    # Only a destructive action has a page: its confirmation. The others are POST only.
    if action not in CONFIRMATIONS:
        return HttpResponseNotAllowed(["POST"])
    return _confirm_page(request, sheet, action)


def _do_action(
    request: HttpRequest, member: Member, sheet: LiaisonSheet, action: str
) -> HttpResponse:
    note = request.POST.get("note", "")
    try:
        if action in transitions.TRANSITIONS:
            planned = request.POST.get("planned_date") or None
            redirect_code = request.POST.get("redirect_to") or ""
            redirect_to = selectors.organisation_by_code(redirect_code)
            transitions.transition_referral(
                actor=member,
                sheet=sheet,
                action=action,
                note=note,
                planned_date=_date(planned),
                redirect_to=redirect_to,
            )
            messages.success(request, _("Action enregistrée."))
        elif action == "note":
            transitions.add_note(actor=member, sheet=sheet, note=note)
            messages.success(request, _("Note ajoutée."))
        elif action == "discharge":
            letter = discharge.start_discharge_letter(actor=member, referral=sheet)
            return redirect("liaison-edit", code=letter.code)
        elif action == "revise":
            draft = discharge.revise_discharge_letter(actor=member, letter=sheet)
            return redirect("liaison-edit", code=draft.code)
        elif action == "attach" and "file" in request.FILES:
            upload = request.FILES["file"]
            attachments.add_attachment(
                actor=member,
                sheet=sheet,
                fileobj=upload,
                filename=upload.name or "",
                size=upload.size or 0,
            )
            messages.success(request, _("Pièce jointe ajoutée."))
        elif action in ("file", "unfile"):
            if action == "file":
                filing.file_sheet(actor=member, sheet=sheet)
                messages.success(request, _("Fiche classée : retrouvez-la dans « Classées »."))
            else:
                filing.unfile_sheet(actor=member, sheet=sheet)
                messages.success(request, _("Fiche remise dans « À traiter »."))
            return redirect(_back_to_list(request))
        elif action == "delete":
            drafts.delete_draft(actor=member, sheet=sheet)
            messages.success(request, _("Brouillon supprimé."))
            return redirect("liaison-worklist")
        else:
            raise Http404
    except DomainError as error:
        fields = error.fields if isinstance(error, FieldErrors) else {}
        if action in CONFIRMATIONS and fields:
            # The reason is missing: ask again on the confirmation, the field marked.
            return _confirm_page(request, sheet, action, fields, status=error.status_code)
        messages.error(request, error.readable())
    return redirect("liaison-sheet", code=sheet.code)


def _back_to_list(request: HttpRequest) -> str:
    """Where a filing sends the member back: the list they came from (a local path only)."""
    back = request.POST.get("next", "")
    if back.startswith("/liaison/") and not back.startswith("//"):
        return back
    return "/liaison/"


def _date(value: str | None) -> Any:
    from datetime import date  # noqa: PLC0415

    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@member_page
def download_attachment(
    request: HttpRequest, member: Member, code: UUID, attachment_code: UUID
) -> HttpResponseBase:
    attachment = selectors.access_attachment(member, code, attachment_code)
    return upload_download(attachment)
