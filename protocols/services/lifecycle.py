"""The lifecycle of a version: submit for review, approve or request changes, publish, retire.

Every transition is a conditional UPDATE on the version's current status: of two concurrent
clicks one wins and the other gets InvalidTransition (409) with the current state. Publishing
supersedes the version in force and publishes the new one in the same transaction; the partial
unique index "one published version per protocol" makes any interleaving that would leave two
versions in force fail instead. It also ends the participations the new version no longer
allows (professions, training), since the registration rules were checked against the old
one. Each transition writes its audit entry and queues its notifications in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member
from directory.selectors import members_with_codes
from protocols import actions, events, selectors
from protocols.models import Participation, Protocol, ProtocolReview, ProtocolVersion
from protocols.services import participation
from protocols.services.common import invalid_transition, missing_for_review, refresh_protocol
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from worker.services import notify

VersionStatus = ProtocolVersion.Status
Decision = ProtocolReview.Decision


def _authors(version: ProtocolVersion) -> list[Member]:
    return [version.author, version.protocol.created_by]


@transaction.atomic
def submit_for_review(
    *, actor: Member, version: ProtocolVersion, reviewers: Iterable[Member] = ()
) -> ProtocolVersion:
    """Send a draft to its named reviewers (a new review round).

    Without `reviewers`, those of the previous round review again. The author cannot review
    their own version. 400 lists what the version still lacks (R4011-1 essentials).
    """
    if not selectors.can_edit(actor, version):
        raise PermissionDenied(_("Seuls l'auteur, le créateur et la coordination soumettent."))
    if version.status != VersionStatus.DRAFT:
        raise invalid_transition(
            version, _("Seul un brouillon se soumet : la version est « %(status)s ».")
        )
    chosen = list({member.pk: member for member in reviewers}.values())
    if not chosen:
        chosen = [review.reviewer for review in selectors.current_reviews(version)]
    errors = missing_for_review(version.protocol, version)
    if not chosen:
        errors["reviewers"] = [_("Nommez au moins un relecteur.")]
    if any(member.pk == version.author_id for member in chosen):
        errors["reviewers"] = [_("L'auteur d'une version ne peut pas la relire.")]
    if errors:
        raise FieldErrors(errors)
    at = now()
    updated = ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT).update(
        status=VersionStatus.IN_REVIEW,
        review_round=F("review_round") + 1,
        submitted_at=at,
        revision=F("revision") + 1,
        updated_at=at,
    )
    if updated != 1:
        raise invalid_transition(
            version, _("Seul un brouillon se soumet : la version est « %(status)s ».")
        )
    version.refresh_from_db()
    ProtocolReview.objects.bulk_create(
        ProtocolReview(
            version=version, reviewer=member, round=version.review_round, requested_at=at
        )
        for member in chosen
    )
    refresh_protocol(version.protocol)
    audit.record(
        actor=actor,
        action=actions.VERSION_SUBMIT,
        target=version,
        extra={"number": version.number, "round": version.review_round},
    )
    notify(
        event=events.REVIEW_REQUESTED,
        recipients=chosen,
        actor=actor,
        target=version.protocol,
        url=events.review_url(version),
    )
    return version


def submit_for_review_to(
    *, actor: Member, version: ProtocolVersion, reviewer_codes: Iterable[UUID | str]
) -> ProtocolVersion:
    """`submit_for_review` to the members named by public id, as the API and the pages send
    them; an id that names no active member is refused (400 on `reviewers`), never dropped:
    a draft sent to fewer reviewers than its author chose would be approved by fewer.
    """
    unknown = FieldErrors({"reviewers": [_("Relecteur inconnu.")]})
    try:
        codes = {UUID(str(code)) for code in reviewer_codes}
    except ValueError:
        raise unknown from None
    reviewers = list(members_with_codes(actor, [str(code) for code in codes]))
    if len(reviewers) != len(codes):
        raise unknown
    return submit_for_review(actor=actor, version=version, reviewers=reviewers)


def _own_pending_review(actor: Member, version: ProtocolVersion) -> ProtocolReview:
    if version.status != VersionStatus.IN_REVIEW:
        raise invalid_transition(
            version, _("Cette version n'est pas en relecture : elle est « %(status)s ».")
        )
    review = selectors.review_of(version, actor)
    if review is None:
        raise PermissionDenied(_("Vous n'êtes pas relecteur de cette version."))
    return review


def _lock_in_review(version: ProtocolVersion) -> None:
    """Conditional UPDATE of the version still in review in the same round.

    It also takes the row lock, so a concurrent request-changes or publish waits for us and
    then sees our decision.
    """
    updated = ProtocolVersion.objects.filter(
        pk=version.pk, status=VersionStatus.IN_REVIEW, review_round=version.review_round
    ).update(revision=F("revision") + 1, updated_at=now())
    if updated != 1:
        raise invalid_transition(
            version, _("Cette version n'est plus en relecture : elle est « %(status)s ».")
        )


def _decide(review: ProtocolReview, version: ProtocolVersion, decision: str, comment: str) -> None:
    updated = ProtocolReview.objects.filter(pk=review.pk, decision=Decision.PENDING).update(
        decision=decision, comment=comment, decided_at=now()
    )
    if updated != 1:
        review.refresh_from_db(fields=["decision"])
        raise InvalidTransition(
            _("Vous avez déjà donné votre avis sur cette version (« %(d)s »).")
            % {"d": Decision(review.decision).label},
            status=version.status,
            decision=review.decision,
        )


@transaction.atomic
def approve_version(
    *, actor: Member, version: ProtocolVersion, comment: str = ""
) -> ProtocolVersion:
    """A named reviewer approves; once every reviewer of the round has, it can be published."""
    review = _own_pending_review(actor, version)
    _lock_in_review(version)
    _decide(review, version, Decision.APPROVED, comment.strip())
    version = selectors.version_for_output(version)
    audit.record(
        actor=actor,
        action=actions.VERSION_APPROVE,
        target=version,
        extra={"number": version.number, "round": version.review_round},
    )
    notify(
        event=events.VERSION_APPROVED,
        recipients=_authors(version),
        actor=actor,
        target=version.protocol,
        url=events.review_url(version),
    )
    return version


@transaction.atomic
def request_changes(*, actor: Member, version: ProtocolVersion, comment: str) -> ProtocolVersion:
    """A named reviewer sends the version back to draft, saying what to change."""
    if not comment.strip():
        raise FieldErrors({"comment": [_("Dites ce qu'il faut modifier.")]})
    review = _own_pending_review(actor, version)
    updated = ProtocolVersion.objects.filter(
        pk=version.pk, status=VersionStatus.IN_REVIEW, review_round=version.review_round
    ).update(status=VersionStatus.DRAFT, revision=F("revision") + 1, updated_at=now())
    if updated != 1:
        raise invalid_transition(
            version, _("Cette version n'est plus en relecture : elle est « %(status)s ».")
        )
    _decide(review, version, Decision.CHANGES_REQUESTED, comment.strip())
    refresh_protocol(version.protocol)
    version = selectors.version_for_output(version)
    audit.record(
        actor=actor,
        action=actions.VERSION_REQUEST_CHANGES,
        target=version,
        extra={"number": version.number, "round": version.review_round},
    )
    notify(
        event=events.CHANGES_REQUESTED,
        recipients=_authors(version),
        actor=actor,
        target=version.protocol,
        url=events.protocol_url(version.protocol),
    )
    return version


def _may_publish(actor: Member, version: ProtocolVersion) -> bool:
    return version.author_id == actor.pk or selectors.can_manage(actor, version.protocol)


@transaction.atomic
def publish_version(*, actor: Member, version: ProtocolVersion) -> ProtocolVersion:
    """Put an approved version in force; the previous one becomes superseded (still readable).

    409 unless the version is in review with every reviewer of the round approving.
    """
    if not _may_publish(actor, version):
        raise PermissionDenied(
            _("Seuls l'auteur, le créateur du protocole et la coordination publient.")
        )
    not_approved = ProtocolReview.objects.filter(
        version=OuterRef("pk"), round=OuterRef("review_round")
    ).exclude(decision=Decision.APPROVED)
    claimed = (
        ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.IN_REVIEW)
        .exclude(Exists(not_approved))
        .update(revision=F("revision") + 1, updated_at=now())
    )
    if claimed != 1:
        version.refresh_from_db(fields=["status", "review_round"])
        if version.status == VersionStatus.IN_REVIEW:
            waiting = [
                review.reviewer.display_name
                for review in ProtocolReview.objects.filter(
                    version=version, round=version.review_round
                )
                .exclude(decision=Decision.APPROVED)
                .select_related("reviewer")
            ]
            raise invalid_transition(
                version,
                _(
                    "Publication impossible : tous les relecteurs n'ont pas approuvé "
                    "(version « %(status)s »)."
                ),
                waiting_for=waiting,
            )
        raise invalid_transition(
            version, _("Publication impossible : la version est « %(status)s ».")
        )
    at = now()
    previous = ProtocolVersion.objects.filter(
        protocol_id=version.protocol_id, status=VersionStatus.PUBLISHED
    )
    previous.update(status=VersionStatus.SUPERSEDED, superseded_at=at, updated_at=at)
    ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.IN_REVIEW).update(
        status=VersionStatus.PUBLISHED, published_at=at, published_by=actor, updated_at=at
    )
    protocol = refresh_protocol(version.protocol)
    version = selectors.version_for_output(version)
    audit.record(
        actor=actor,
        action=actions.VERSION_PUBLISH,
        target=version,
        extra={"number": version.number},
    )
    ended = participation.end_unmatched_participations(actor=actor, version=version, at=at)
    # Whoever was just removed hears that (and why) instead of "a new version to read".
    removed = {p.member_id for p in ended}
    # The professions it names hear of it too: a pluriprofessional protocol for GPs, nurses
    # and pharmacists applies to all of them, registered or not (selectors.concerned_members).
    audience = [*selectors.concerned_members(protocol, version), *_audience(protocol)]
    notify(
        event=events.VERSION_PUBLISHED,
        recipients=[member for member in audience if member.pk not in removed],
        actor=actor,
        target=protocol,
        url=events.protocol_url(protocol),
    )
    return version


def _audience(protocol: Protocol) -> list[Member]:
    """Who is told about a new version: the participants, and whoever read an earlier one."""
    participants = Participation.objects.filter(
        protocol=protocol, ended_at__isnull=True
    ).select_related("member")
    readers = Member.objects.filter(pk__in=protocol.versions.values("acknowledgements__member_id"))
    return [p.member for p in participants] + list(readers)


@transaction.atomic
def retire_version(*, actor: Member, version: ProtocolVersion) -> ProtocolVersion:
    """Withdraw the version in force: the protocol no longer applies (history stays readable)."""
    if not selectors.can_manage(actor, version.protocol):
        raise PermissionDenied(_("Seuls le créateur du protocole et la coordination le retirent."))
    at = now()
    updated = ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.PUBLISHED).update(
        status=VersionStatus.RETIRED, retired_at=at, revision=F("revision") + 1, updated_at=at
    )
    if updated != 1:
        raise invalid_transition(
            version, _("Seule la version en vigueur se retire : celle-ci est « %(status)s ».")
        )
    protocol = refresh_protocol(version.protocol)
    version = selectors.version_for_output(version)
    audit.record(
        actor=actor, action=actions.VERSION_RETIRE, target=version, extra={"number": version.number}
    )
    notify(
        event=events.VERSION_RETIRED,
        recipients=_audience(protocol),
        actor=actor,
        target=protocol,
        url=events.protocol_url(protocol),
    )
    return version
