"""French pages of the messaging: inbox, compose, conversation (with its small JSON endpoints).

Thin like the API: they parse the form, call the same selectors and services, and render. A
DomainError becomes a message on the page (or a JSON error for static/js/messaging.js), never
a 500. The conversation page refreshes itself by polling `poll` (no inline script: CSP).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.downloads import upload_download
from directory.models import Member
from directory.permissions import member_page
from messaging import forms, selectors
from messaging.models import Conversation, Message
from messaging.selectors import LinkExpired, Standing
from messaging.services import conversations, messages
from messaging.services.messages import Upload
from patients import forms as patient_forms
from patients.identity import identity_display
from security.exceptions import DomainError, FieldErrors, NotFound

if TYPE_CHECKING:
    from liaison.models import LiaisonSheet

PAGE = 50


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _uploads(request: HttpRequest) -> list[Upload]:
    return [
        Upload(fileobj=upload, filename=upload.name or "", size=upload.size or 0)
        for upload in request.FILES.getlist("attachments")
    ]


# --- Inbox -----------------------------------------------------------------------------------


@member_page
def inbox(request: HttpRequest, member: Member) -> HttpResponse:
    search = forms.SearchForm(request.GET or None, member=member)
    filters = search.filters() if search.is_bound and search.is_valid() else {}
    queryset = selectors.conversation_list(member, **filters)
    if search.is_bound and not search.is_valid():
        queryset = queryset.none()
    page = Paginator(queryset, PAGE).get_page(request.GET.get("page"))
    rows = [_row(member, conversation) for conversation in page.object_list]
    return render(
        request,
        "messaging/inbox.html",
        {
            "search": search,
            "rows": rows,
            "page": page,
            "unread_total": selectors.unread_total(member),
            "query": _query_without_page(request),
            "subject_search_limit": settings.MESSAGING_SUBJECT_SEARCH_LIMIT,
        },
    )


def _row(member: Member, conversation: Conversation) -> dict[str, Any]:
    others = [p.member for p in conversation.participants.all() if p.member_id != member.pk]
    return {"conversation": conversation, "others": others, "patient": conversation.patient}


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- Compose ---------------------------------------------------------------------------------


@member_page
def compose(request: HttpRequest, member: Member) -> HttpResponse:
    sheet_code = request.POST.get("liaison_sheet") or request.GET.get("fiche") or ""
    sheet = selectors.sheet_for(member, sheet_code) if sheet_code else None
    context: dict[str, Any] = {
        "organisations": selectors.inbox_organisations(),
        "sheet": sheet,
        "creation_key": uuid.uuid4().hex,
        "chosen": [],
        "data": {},
        "errors": {},
        "patient_fields": patient_forms.patient_fields(None, {}),
    }
    if request.method != "POST":
        if sheet is not None:
            context.update(_about_sheet(member, sheet))
        else:
            identity, lookup = selectors.known_patient(member, request.GET)
            context["lookup"] = lookup
            if identity:
                posted = patient_forms.as_posted(identity)
                context["patient_fields"] = patient_forms.patient_fields(posted, {})
                context["patient_open"] = True
        return render(request, "messaging/compose.html", context)
    post = request.POST
    codes = forms.uuids(post.getlist("participants"))
    context.update(
        data=post,
        creation_key=post.get("creation_key", "")[:64],
        chosen=selectors.members_by_codes(member, codes),
    )
    try:
        conversation = conversations.start_conversation(
            actor=member,
            subject=post.get("subject", ""),
            participants=selectors.participants_from_codes(member, codes),
            organisation_inbox=(
                selectors.inbox_from_code(post["organisation_inbox"])
                if post.get("organisation_inbox")
                else None
            ),
            patient=patient_forms.patient_from(post),
            liaison_sheet=selectors.sheet_from_code(member, sheet_code) if sheet_code else None,
            body=post.get("body", ""),
            urgent=bool(post.get("urgent")),
            files=_uploads(request),
            creation_key=context["creation_key"],
        )
    except DomainError as error:
        context["errors"] = (
            error.fields if isinstance(error, FieldErrors) else {"__all__": [error.detail]}
        )
        context["patient_fields"] = patient_forms.patient_fields(post, context["errors"])
        context["patient_open"] = patient_forms.patient_from(post) is not None
        flash.error(request, _("Le message n'est pas parti : corrigez ce qui est indiqué."))
        return render(request, "messaging/compose.html", context, status=error.status_code)
    flash.success(request, _("Message envoyé."))
    return redirect("messaging-conversation", code=conversation.code)


def _about_sheet(member: Member, sheet: LiaisonSheet) -> dict[str, Any]:
    """The composer prefilled from a sheet: its care team, a subject, the sheet linked (the
    patient travels through the sheet, not retyped). The subject names no patient: it shows
    in lists and notifications."""
    people, inbox = selectors.care_team_of(member, sheet)
    when = sheet.sent_at or sheet.created_at
    subject = _("À propos : %(kind)s du %(date)s") % {
        "kind": sheet.get_kind_display().lower(),
        "date": date_format(localtime(when), "d/m/Y"),
    }
    return {
        "chosen": people,
        "data": {"subject": subject, "organisation_inbox": str(inbox.code) if inbox else ""},
    }


@member_page
@require_GET
def recipients(request: HttpRequest, member: Member) -> JsonResponse:
    """The directory search of the compose form: members whose name or organisation matches."""
    found = selectors.recipient_candidates(member, request.GET.get("q", "")[:100])
    return JsonResponse(
        {
            "results": [
                {
                    "id": str(m.code),
                    "name": m.display_name,
                    "detail": ", ".join(
                        [
                            m.get_profession_display(),
                            *(ms.organisation.name for ms in m.memberships.all()),
                        ]
                    ),
                }
                for m in found
            ]
        }
    )


# --- Conversation ----------------------------------------------------------------------------


def _message_context(
    member: Member, conversation: Conversation, standing: Standing
) -> dict[str, Any]:
    return {"member": member, "conversation": conversation, "standing": standing}


def _render_messages(page: list[Message], context: dict[str, Any]) -> list[dict[str, Any]]:
    """Each message with its signed download links, ready for the template."""
    member, conversation = context["member"], context["conversation"]
    return [
        {
            "message": message,
            "mine": message.author_id == member.pk,
            "attachments": [
                {
                    "attachment": a,
                    "url": selectors.download_url(member, a, conversation.code, api=False),
                }
                for a in message.attachments.all()
            ]
            if message.redacted_at is None
            else [],
        }
        for message in page
    ]


@member_page
def conversation(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    if request.method == "POST":
        return _reply(request, member, code)
    found = selectors.access_conversation(member, code)  # audited: the page shows it
    standing = selectors.standing_of(member, found)
    messages.mark_read(actor=member, conversation=found)  # opening it is reading it
    return _render_conversation(request, member, found, standing)


def _render_conversation(
    request: HttpRequest,
    member: Member,
    found: Conversation,
    standing: Standing,
    *,
    status: int = 200,
    draft: str = "",
) -> HttpResponse:
    before = None
    if request.GET.get("avant"):
        try:
            before = selectors.message_in(found, request.GET["avant"])
        except NotFound:
            before = None
    page, has_more = selectors.latest_messages(found, standing, before=before, limit=PAGE)
    context = _message_context(member, found, standing)
    full = selectors.conversation_for_output(member, found)
    return render(
        request,
        "messaging/conversation.html",
        {
            **context,
            "conversation": full,
            "identity": identity_display(full.patient) if full.patient else None,
            "participants": full.participants.all(),
            "items": _render_messages(page, context),
            "has_more": has_more,
            "first": page[0] if page else None,
            "last": page[-1] if page else None,
            "reply_key": uuid.uuid4().hex,
            "draft": draft,
            "poll_seconds": settings.MESSAGING_POLL_SECONDS,
            "max_body": settings.MESSAGING_MAX_BODY_CHARS,
        },
        status=status,
    )


def _reply(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    found = selectors.access_conversation(member, code, audit_action=None)
    try:
        posted = messages.post_message(
            actor=member,
            conversation=found,
            body=request.POST.get("body", ""),
            urgent=bool(request.POST.get("urgent")),
            files=_uploads(request),
            idempotency_key=request.POST.get("key", "")[:64],
        )
    except DomainError as error:
        if _wants_json(request):
            fields = error.fields if isinstance(error, FieldErrors) else {}
            return JsonResponse(
                {"detail": error.readable(), "fields": fields}, status=error.status_code
            )
        flash.error(request, error.readable())
        standing = selectors.standing_of(member, found)
        return _render_conversation(
            request,
            member,
            found,
            standing,
            status=error.status_code,
            draft=request.POST.get("body", ""),
        )
    if _wants_json(request):
        return JsonResponse({"id": str(posted.message.code)}, status=201)
    return redirect(
        f"{reverse('messaging-conversation', kwargs={'code': found.code})}#m-{posted.message.code}"
    )


@member_page
@require_GET
def poll(request: HttpRequest, member: Member, code: UUID) -> JsonResponse:
    """What changed since the page's last message: new messages (HTML) and fresh receipts.

    An empty answer discloses nothing and is not audited (see messaging.selectors).
    """
    found = selectors.access_conversation(member, code, audit_action=None)
    standing = selectors.standing_of(member, found)
    queryset = selectors.messages_of(found, standing)
    after = request.GET.get("apres", "")
    if after:
        try:
            queryset = selectors.messages_after(queryset, selectors.message_in(found, after))
        except NotFound:
            return JsonResponse({"detail": _("Message inconnu.")}, status=400)
    page = list(queryset.order_by("created_at", "pk")[:100])
    selectors.record_disclosure(member, found, messages=len(page))
    context = _message_context(member, found, standing)
    items = _render_messages(page, context)
    own = selectors.own_recent_messages(found, member)
    return JsonResponse(
        {
            "messages": [
                {
                    "id": str(item["message"].code),
                    "html": render_to_string(
                        "messaging/_message.html", {**context, "item": item}, request
                    ),
                }
                for item in items
            ],
            "receipts": {
                str(message.code): render_to_string(
                    "messaging/_receipts.html", {"message": message}, request
                )
                for message in own
                if message.redacted_at is None
            },
            "can_write": standing.may_write,
        }
    )


@member_page
@require_POST
def mark_read(request: HttpRequest, member: Member, code: UUID) -> JsonResponse:
    # A receipt discloses nothing: not audited.
    found = selectors.access_conversation(member, code, audit_action=None)
    up_to = None
    if request.POST.get("jusqu_a"):
        try:
            up_to = selectors.message_in(found, request.POST["jusqu_a"])
        except NotFound:
            return JsonResponse({"detail": _("Message inconnu.")}, status=400)
    return JsonResponse(
        {"marked": messages.mark_read(actor=member, conversation=found, up_to=up_to)}
    )


@member_page
@require_POST
def add_participant(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    found = selectors.access_conversation(member, code, audit_action=None)
    try:
        added = selectors.member_from_code(member, request.POST.get("member", ""))
        conversations.add_participant(actor=member, conversation=found, member=added)
        flash.success(
            request,
            _("%(name)s participe désormais à la conversation.") % {"name": added.display_name},
        )
    except DomainError as error:
        flash.error(request, error.readable())
    return redirect("messaging-conversation", code=found.code)


def _confirm(request: HttpRequest, confirm: dict[str, Any]) -> HttpResponse:
    """The confirmation page of a destructive action (templates/confirm.html): GET shows it,
    POST does it; static/js/confirm.js shows the same form in a <dialog>."""
    return render(request, "confirm.html", {"confirm": {"fields": [], **confirm}})


@member_page
@require_http_methods(["GET", "POST"])
def leave(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    found = selectors.access_conversation(member, code, audit_action=None)
    if request.method != "POST":
        return _confirm(
            request,
            {
                "title": _("Quitter la conversation ?"),
                "text": _(
                    "Vous ne pourrez plus y écrire ni lire les nouveaux messages ; les autres "
                    "participants voient que vous l'avez quittée. Seul un participant peut "
                    "vous y ajouter à nouveau."
                ),
                "button": _("Quitter la conversation"),
                "url": reverse("messaging-leave", kwargs={"code": found.code}),
                "back": reverse("messaging-conversation", kwargs={"code": found.code}),
            },
        )
    try:
        conversations.leave_conversation(actor=member, conversation=found)
    except DomainError as error:
        flash.error(request, error.readable())
        return redirect("messaging-conversation", code=found.code)
    flash.success(request, _("Vous avez quitté la conversation."))
    return redirect("messaging-inbox")


@member_page
@require_http_methods(["GET", "POST"])
def redact(request: HttpRequest, member: Member, code: UUID, message_code: UUID) -> HttpResponse:
    found = selectors.access_conversation(member, code, audit_action=None)
    message = selectors.message_in(found, message_code)
    back = reverse("messaging-conversation", kwargs={"code": found.code})
    if request.method != "POST":
        return _confirm(
            request,
            {
                "title": _("Retirer ce message ?"),
                "text": _(
                    "Son texte et ses pièces jointes sont effacés pour tous les participants ; "
                    "la conversation garde la trace qu'un message a été retiré. "
                    "C'est définitif."
                ),
                "button": _("Retirer le message"),
                "url": reverse(
                    "messaging-redact",
                    kwargs={"code": found.code, "message_code": message.code},
                ),
                "back": f"{back}#m-{message.code}",
            },
        )
    try:
        messages.redact_message(actor=member, message=message)
        flash.success(request, _("Message retiré."))
    except DomainError as error:
        flash.error(request, error.readable())
    return redirect("messaging-conversation", code=found.code)


@member_page
@require_GET
def download(
    request: HttpRequest, member: Member, code: UUID, attachment_code: UUID
) -> HttpResponseBase:
    try:
        attachment = selectors.access_attachment(
            member, code, attachment_code, token=request.GET.get("token", "")
        )
    except LinkExpired:
        flash.error(
            request, _("Ce lien de téléchargement a expiré : utilisez celui de la page rechargée.")
        )
        return redirect("messaging-conversation", code=code)
    return upload_download(attachment)
