"""French pages of the protocols: library, protocol page, editor, review page, comparison.

Thin like the API: they parse the form, call the same selectors and services, and render.
A DomainError becomes a message on the page (with the HTTP status of the API), never a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.timezone import localdate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from directory import selectors as directory_selectors
from directory.models import Member
from directory.permissions import member_page
from patients import forms as patient_forms
from patients.identity import identity_display
from protocols import forms, selectors
from protocols.diff import diff_versions
from protocols.downloads import attachment_download
from protocols.guide.selectors import themes, themes_with_slugs
from protocols.models import SECTIONS, Inclusion, Participation, Protocol, ProtocolVersion
from protocols.serializers import ProtocolListQuery
from protocols.services import drafting, inclusions, lifecycle, participation
from security.exceptions import DomainError, FieldErrors

VersionStatus = ProtocolVersion.Status


def _error_message(error: DomainError) -> str:
    if isinstance(error, FieldErrors):
        return " ".join(
            f"{message}" for messages_ in error.fields.values() for message in messages_
        )
    return error.detail


# Titles that speak of délégants belong to cooperation protocols (L4011-4): a
# pluriprofessional protocol says the same thing in its own words.
PLURIPROFESSIONAL_TITLES = {
    "referral_back": _lazy("Réorientation vers le médecin traitant (situations et délais)"),
    "derogatory_acts": _lazy("Actes et activités réalisés"),
}


def _sections(version: ProtocolVersion) -> list[dict[str, Any]]:
    pluripro = version.protocol.kind == Protocol.Kind.PLURIPROFESSIONAL
    return [
        {
            "name": name,
            "title": PLURIPROFESSIONAL_TITLES.get(name, title) if pluripro else title,
            "text": getattr(version, name),
        }
        for name, title in SECTIONS
    ]


@member_page
def library(request: HttpRequest, member: Member) -> HttpResponse:
    query = ProtocolListQuery(
        data={k: v for k, v in request.GET.items() if k in ProtocolListQuery().fields and v}
    )
    filters = dict(query.validated_data) if query.is_valid() else {}
    protocols = list(selectors.protocol_list(member, **filters)[:200])
    return render(
        request,
        "protocols/library.html",
        {
            "protocols": protocols,
            "filters": {
                name: request.GET.get(name, "")
                for name in ("q", "kind", "status", "profession", "theme")
            },
            "kinds": Protocol.Kind.choices,
            "statuses": Protocol.Status.choices,
            "professions": Member.Profession.choices,
            "themes": list(themes()),
            "to_review": list(selectors.versions_to_review(member)),
            "drafts": list(selectors.open_versions_of(member)[:50]),
        },
    )


def _typed_values(
    base: dict[str, Any], request: HttpRequest, content: dict[str, Any]
) -> dict[str, Any]:
    """The editor's fields as the person sent them, to show the form again after an error.

    Validated content holds Python values; a date goes back into its input as ISO text (a
    date rendered in French would leave the input empty, and the next submit would fail).
    """
    values = {**base, **request.POST.dict(), **content}
    for name, value in values.items():
        if isinstance(value, date):
            values[name] = value.isoformat()
    for name in forms.PROFESSION_FIELDS:
        values[name] = request.POST.getlist(name)
    values["themes"] = request.POST.getlist("themes")
    values["reviewers"] = request.POST.getlist("reviewers")
    return values


def _editor_context(
    member: Member,
    protocol: Protocol | None,
    version: ProtocolVersion | None,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    chosen_themes = (
        {t.slug for t in protocol.themes.all()} if protocol else set(values.get("themes", []))
    )
    reviewers = {r.reviewer_id for r in selectors.current_reviews(version)} if version else set()
    # Reviewers ticked in a form that came back with an error stay ticked.
    posted_reviewers = set(values.get("reviewers", []))
    return {
        "protocol": protocol,
        "version": version,
        "values": values,
        "sections": forms.editor_sections(values, errors or {}),
        "training_inputs": forms.training_inputs(values, errors or {}),
        "professions": forms.profession_boxes(values, errors or {}),
        "kinds": Protocol.Kind.choices,
        "themes": [{"theme": t, "checked": t.slug in chosen_themes} for t in themes()],
        "members": [
            {"member": m, "checked": m.pk in reviewers or str(m.code) in posted_reviewers}
            for m in directory_selectors.members_visible_to(member).exclude(pk=member.pk)
        ],
        "errors": errors or {},
    }


@member_page
def new_protocol(request: HttpRequest, member: Member) -> HttpResponse:
    if request.method != "POST":
        # One key per opened form: sending it twice (double click, slow network) makes one
        # protocol, as the API's Idempotency-Key does.
        values = {**forms.version_values(None), "creation_key": uuid4().hex}
        return render(request, "protocols/editor.html", _editor_context(member, None, None, values))
    content, errors = forms.parse_content(request.POST)
    values = _typed_values({}, request, content)
    chosen, _unknown = themes_with_slugs(request.POST.getlist("themes"))
    if not errors:
        try:
            protocol = drafting.create_protocol(
                actor=member,
                kind=request.POST.get("kind", ""),
                reference=request.POST.get("reference", ""),
                themes=chosen,
                content=content,
                creation_key=request.POST.get("creation_key", ""),
            )
        except DomainError as error:
            errors = error.fields if isinstance(error, FieldErrors) else {"general": [error.detail]}
        else:
            messages.success(request, _("Brouillon enregistré."))
            return redirect("protocol-edit", code=protocol.code, number=1)
    messages.error(request, _("Certains champs sont à compléter ou à corriger."))
    context = _editor_context(member, None, None, values, errors)
    return render(request, "protocols/editor.html", context, status=400)


@member_page
def edit_version(request: HttpRequest, member: Member, code: UUID, number: int) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    version = selectors.access_version(member, protocol, number)
    if version.status != VersionStatus.DRAFT or not selectors.can_edit(member, version):
        return redirect("protocol-version", code=protocol.code, number=version.number)
    if request.method != "POST":
        context = _editor_context(member, protocol, version, forms.version_values(version))
        return render(request, "protocols/editor.html", context)
    content, errors = forms.parse_content(request.POST)
    revision = request.POST.get("revision", "")
    try:
        if errors:
            raise FieldErrors(errors)
        version = drafting.update_draft(
            actor=member,
            version=version,
            content=content,
            expected_revision=int(revision) if revision.isdigit() else None,
        )
        if "submit" in request.POST:
            version = lifecycle.submit_for_review_to(
                actor=member, version=version, reviewer_codes=request.POST.getlist("reviewers")
            )
            messages.success(request, _("Version envoyée en relecture."))
            return redirect("protocol-version", code=protocol.code, number=version.number)
    except DomainError as error:
        values = _typed_values(forms.version_values(version), request, content)
        fields = error.fields if isinstance(error, FieldErrors) else {}
        messages.error(
            request,
            _error_message(error)
            if not fields
            else _("Certains champs sont à compléter ou à corriger."),
        )
        context = _editor_context(member, protocol, version, values, fields)
        return render(request, "protocols/editor.html", context, status=error.status_code)
    messages.success(request, _("Brouillon enregistré."))
    return redirect("protocol-edit", code=protocol.code, number=version.number)


def _reading_context(
    member: Member, protocol: Protocol, version: ProtocolVersion
) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "version": version,
        "sections": _sections(version),
        "can_edit": version.status == VersionStatus.DRAFT and selectors.can_edit(member, version),
        "can_manage": selectors.can_manage(member, protocol),
        "can_publish": version.status == VersionStatus.IN_REVIEW
        and (version.author_id == member.pk or selectors.can_manage(member, protocol)),
        "my_review": selectors.review_of(version, member),
        "reviews": list(version.reviews.all()),
        "round_reviews": selectors.current_reviews(version),
    }


def _sign_up_context(
    member: Member,
    protocol: Protocol,
    current: ProtocolVersion | None,
    participants: list[Participation],
) -> dict[str, Any]:
    """What the sign-up forms offer: nothing to a member already signed up, the role their
    profession allows first, and to the coordination a form to register someone else."""
    version = current or selectors.latest_version_of(protocol)
    pluripro = protocol.kind == Protocol.Kind.PLURIPROFESSIONAL
    roles = [
        (value, label)
        for value, label in Participation.Role.choices
        if (value == Participation.Role.PARTICIPANT) == pluripro
    ]
    allowed: dict[str, list[str]] = {}
    if version is not None:
        allowed = {
            Participation.Role.DELEGANT: list(version.delegant_professions),
            Participation.Role.DELEGATE: list(version.delegate_professions),
            Participation.Role.PARTICIPANT: list(version.professions),
        }
    mine = [value for value, _label in roles if member.profession in allowed.get(value, [])]
    signed_up = {p.member_id for p in participants}
    context: dict[str, Any] = {
        "roles": roles,
        "pluripro": pluripro,
        "signed_up": member.pk in signed_up,
        "my_roles": [(value, label) for value, label in roles if value in mine],
        "default_role": mine[0] if mine else "",
    }
    if selectors.can_manage(member, protocol) and version is not None:
        professions = {p for value, _label in roles for p in allowed.get(value, [])}
        context["registrable"] = [
            m for m in selectors.members_of_professions(professions) if m.pk not in signed_up
        ]
    return context


def _inclusion_context(member: Member, protocol: Protocol) -> dict[str, Any]:
    """The protocol page's "Patients inclus": counts for everyone who sees the protocol, the
    member's own patients (an audited read), the way to include one for its délégués."""
    return {
        "inclusion_counts": selectors.inclusion_counts(protocol),
        "can_include": protocol.status == Protocol.Status.PUBLISHED
        and selectors.including_participation(member, protocol) is not None,
        "my_inclusions": selectors.my_inclusions(member, protocol),
        "sees_every_inclusion": selectors.sees_every_inclusion(member, protocol),
    }


@member_page
def protocol_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    current = (
        selectors.access_version(member, protocol, protocol.current_version.number)
        if protocol.current_version
        else None
    )
    versions = list(selectors.versions_visible_to(member, protocol))
    open_version = next((v for v in versions if v.status in ProtocolVersion.OPEN), None)
    context: dict[str, Any] = {
        "protocol": protocol,
        "current": current,
        "versions": versions,
        "open_version": open_version,
        "can_manage": selectors.can_manage(member, protocol),
        "participants": list(selectors.participants_of(protocol)),
        "overview": selectors.acknowledgement_overview(protocol),
    }
    context.update(_sign_up_context(member, protocol, current, context["participants"]))
    context.update(_inclusion_context(member, protocol))
    if current is not None:
        context.update(_reading_context(member, protocol, current))
        context["my_acknowledgement"] = selectors.acknowledgement_of(member, current)
        context["ended_participations"] = list(selectors.participations_ended_by(current))
        previous = selectors.previous_released(current)
        if previous is not None:
            context["previous"] = previous
            context["changes"] = [s for s in diff_versions(previous, current) if s.changed]
    return render(request, "protocols/detail.html", context)


@member_page
def version_detail(request: HttpRequest, member: Member, code: UUID, number: int) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    version = selectors.access_version(member, protocol, number)
    context = _reading_context(member, protocol, version)
    context["my_acknowledgement"] = selectors.acknowledgement_of(member, version)
    return render(request, "protocols/version.html", context)


@member_page
def review_version(request: HttpRequest, member: Member, code: UUID, number: int) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    version = selectors.access_version(member, protocol, number)
    context = _reading_context(member, protocol, version)
    base = selectors.previous_released(version)
    if base is not None:
        context["previous"] = base
        context["changes"] = [s for s in diff_versions(base, version) if s.changed]
    return render(request, "protocols/review.html", context)


@member_page
def compare_versions(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    numbers = {}
    for name in ("from", "to"):
        value = request.GET.get(name, "")
        numbers[name] = (
            int(value) if value.isdigit() and int(value) <= selectors.MAX_VERSION_NUMBER else None
        )
    old, new, sections = selectors.diff_between(
        member, protocol, from_number=numbers["from"], to_number=numbers["to"]
    )
    return render(
        request,
        "protocols/diff.html",
        {
            "protocol": protocol,
            "old": old,
            "new": new,
            "changes": [s for s in sections if s.changed],
            "versions": list(selectors.versions_visible_to(member, protocol)),
        },
    )


@member_page
def download_attachment(
    request: HttpRequest, member: Member, code: UUID, number: int
) -> HttpResponseBase:
    version = selectors.access_version(member, selectors.access_protocol(member, code), number)
    return attachment_download(version)


ACTIONS = {"submit", "approve", "request_changes", "publish", "retire", "acknowledge", "attach"}


def _confirmation(
    request: HttpRequest,
    protocol: Protocol,
    *,
    title: str,
    question: str,
    consequence: str,
    button: str,
) -> HttpResponse:
    """Ask before an action with a CPTS-wide effect; confirming posts the same form again.

    A page rather than a script's dialog: it works without JavaScript, and the same form
    fields go back with `confirmed`.
    """
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", "confirmed")
        for value in values
    ]
    context = {
        "protocol": protocol,
        "title": title,
        "question": question,
        "consequence": consequence,
        "button": button,
        "fields": fields,
        "action": request.path,
    }
    return render(request, "protocols/confirm.html", context)


@member_page
@require_POST
def version_action(
    request: HttpRequest, member: Member, code: UUID, number: int, action: str
) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    version = selectors.access_version(member, protocol, number)
    if action not in ACTIONS:
        raise Http404
    if action == "retire" and "confirmed" not in request.POST:
        return _confirmation(
            request,
            protocol,
            title=_("Retirer le protocole"),
            question=_("Retirer le protocole « %(title)s » ?") % {"title": protocol.title},
            consequence=_(
                "Il cessera d'être en vigueur pour toute la CPTS : plus personne ne pourra "
                "l'appliquer. Ses versions restent consultables pour mémoire."
            ),
            button=_("Oui, retirer le protocole"),
        )
    back = request.POST.get("next", "")
    if not back.startswith("/protocoles/"):
        back = reverse("protocol-detail", kwargs={"code": protocol.code})
    comment = request.POST.get("comment", "")
    try:
        if action == "submit":
            lifecycle.submit_for_review_to(
                actor=member, version=version, reviewer_codes=request.POST.getlist("reviewers")
            )
            messages.success(request, _("Version envoyée en relecture."))
        elif action == "approve":
            lifecycle.approve_version(actor=member, version=version, comment=comment)
            messages.success(request, _("Vous avez approuvé cette version."))
        elif action == "request_changes":
            lifecycle.request_changes(actor=member, version=version, comment=comment)
            messages.success(
                request, _("Modifications demandées : la version revient à son auteur.")
            )
        elif action == "publish":
            lifecycle.publish_version(actor=member, version=version)
            messages.success(request, _("Version publiée : elle est désormais en vigueur."))
        elif action == "retire":
            lifecycle.retire_version(actor=member, version=version)
            messages.success(request, _("Protocole retiré."))
        elif action == "acknowledge":
            participation.acknowledge_version(actor=member, version=version)
            messages.success(request, _("Lecture enregistrée : lu et approuvé."))
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise FieldErrors({"file": [_("Aucun fichier reçu.")]})
            drafting.attach_pdf(
                actor=member,
                version=version,
                fileobj=upload,
                filename=upload.name or "",
                size=upload.size or 0,
            )
            messages.success(request, _("PDF joint."))
    except DomainError as error:
        messages.error(request, _error_message(error))
    return redirect(back)


@member_page
@require_POST
def new_version(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    try:
        version = drafting.draft_new_version(actor=member, protocol=protocol)
    except DomainError as error:
        messages.error(request, _error_message(error))
        return redirect("protocol-detail", code=protocol.code)
    messages.success(
        request, _("Nouvelle version en préparation, copiée de la version en vigueur.")
    )
    return redirect("protocol-edit", code=protocol.code, number=version.number)


@member_page
@require_POST
def participants(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    protocol = selectors.access_protocol(member, code)
    try:
        if request.POST.get("end"):
            registered = selectors.access_participation(protocol, request.POST["end"])
            if "confirmed" not in request.POST:
                return _confirmation(
                    request,
                    protocol,
                    title=_("Retirer un participant"),
                    question=_("Retirer %(name)s (%(role)s) du protocole « %(title)s » ?")
                    % {
                        "name": registered.member.display_name,
                        "role": registered.get_role_display(),
                        "title": protocol.title,
                    },
                    consequence=_(
                        "Sa participation prend fin aujourd'hui : il ou elle ne pourra plus "
                        "appliquer ce protocole sans s'inscrire de nouveau."
                    ),
                    button=_("Oui, retirer"),
                )
            participation.end_participation(actor=member, participation=registered)
            messages.success(request, _("Participation terminée."))
        else:
            # The coordination (or the protocol's creator) registers someone else by code.
            someone = request.POST.get("member", "")
            registered_member = (
                selectors.access_registrable_member(member, someone) if someone else member
            )
            participation.register_participant(
                actor=member,
                protocol=protocol,
                member=registered_member,
                role=request.POST.get("role", ""),
                training_declared=request.POST.get("training_declared") == "on",
                training_details=request.POST.get("training_details", ""),
            )
            if registered_member.pk == member.pk:
                messages.success(request, _("Vous êtes inscrit à ce protocole."))
            else:
                messages.success(
                    request,
                    _("%(name)s est inscrit à ce protocole.")
                    % {"name": registered_member.display_name},
                )
    except DomainError as error:
        messages.error(request, _error_message(error))
    return redirect("protocol-detail", code=protocol.code)


def _parsed_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _day_errors(post: Any, names: tuple[str, ...]) -> dict[str, list[str]]:
    """A typed date the browser could not send as one ("31/02") is named, not dropped."""
    return {
        name: [_("Date invalide : jj/mm/aaaa.")]
        for name in names
        if post.get(name, "").strip() and _parsed_day(post.get(name, "")) is None
    }


@member_page
def include_patient(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """ "Inclure un patient": the délégué records the patient, the day, the consent."""
    protocol = selectors.access_protocol(member, code)
    post = request.POST if request.method == "POST" else None
    errors: dict[str, list[str]] = {}
    if post is not None:
        errors = _day_errors(post, ("included_on", "informed_on"))
        if not errors:
            try:
                inclusions.include_patient(
                    actor=member,
                    protocol=protocol,
                    patient=patient_forms.patient_from(post),
                    included_on=_parsed_day(post.get("included_on", "")),
                    informed_on=_parsed_day(post.get("informed_on", "")),
                    consent=post.get("consent") == "on",
                    creation_key=post.get("creation_key", "")[:64],
                )
            except FieldErrors as error:
                errors = error.fields
            except DomainError as error:
                messages.error(request, _error_message(error))
                return redirect("protocol-detail", code=protocol.code)
            else:
                messages.success(request, _("Patient inclus dans le protocole."))
                return redirect("protocol-detail", code=protocol.code)
    elif not (
        protocol.status == Protocol.Status.PUBLISHED
        and selectors.including_participation(member, protocol) is not None
    ):
        messages.error(
            request,
            _("Seuls les délégués inscrits à un protocole en vigueur incluent des patients."),
        )
        return redirect("protocol-detail", code=protocol.code)
    today = localdate().isoformat()
    values = {
        "included_on": post.get("included_on", "") if post is not None else today,
        "informed_on": post.get("informed_on", "") if post is not None else today,
        "consent": post is not None and post.get("consent") == "on",
        "creation_key": post.get("creation_key", "") if post is not None else uuid4().hex,
    }
    context = {
        "protocol": protocol,
        "values": values,
        "errors": errors,
        "patient_fields": patient_forms.patient_fields(post, errors),
    }
    if errors:
        messages.error(request, _("Certains champs sont à compléter ou à corriger."))
    return render(request, "protocols/inclusion_form.html", context, status=400 if errors else 200)


@member_page
def inclusion_list(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The patients included that `member` may see: theirs, or every one for a manager."""
    protocol = selectors.access_protocol(member, code)
    rows = list(selectors.inclusions_visible_to(member, protocol)[:500])
    selectors.audit_inclusion_list(member, protocol, len(rows))
    context = {
        "protocol": protocol,
        "inclusions": rows,
        "counts": selectors.inclusion_counts(protocol),
        "sees_every_inclusion": selectors.sees_every_inclusion(member, protocol),
    }
    return render(request, "protocols/inclusions.html", context)


@member_page
def end_inclusion(
    request: HttpRequest, member: Member, code: UUID, inclusion_code: UUID
) -> HttpResponse:
    """ "Sortie du protocole": the day and the reason the patient leaves it."""
    protocol = selectors.access_protocol(member, code)
    inclusion = selectors.access_inclusion(member, protocol, inclusion_code)
    post = request.POST if request.method == "POST" else None
    errors: dict[str, list[str]] = {}
    if post is not None:
        errors = _day_errors(post, ("ended_on",))
        if not errors:
            try:
                inclusions.end_inclusion(
                    actor=member,
                    inclusion=inclusion,
                    ended_on=_parsed_day(post.get("ended_on", "")),
                    reason=post.get("end_reason", ""),
                )
            except FieldErrors as error:
                errors = error.fields
            except DomainError as error:
                messages.error(request, _error_message(error))
                return redirect("protocol-detail", code=protocol.code)
            else:
                messages.success(request, _("Sortie du protocole enregistrée."))
                return redirect("protocol-detail", code=protocol.code)
    context = {
        "protocol": protocol,
        "inclusion": inclusion,
        "identity": identity_display(inclusion.patient),
        "reasons": Inclusion.EndReason.choices,
        "values": {
            "ended_on": post.get("ended_on", "") if post is not None else localdate().isoformat(),
            "end_reason": post.get("end_reason", "") if post is not None else "",
        },
        "errors": errors,
    }
    if errors:
        messages.error(request, _("Certains champs sont à compléter ou à corriger."))
    return render(request, "protocols/inclusion_end.html", context, status=400 if errors else 200)
