"""Reads on the directory.

The directory is the CPTS's shared who's who: every active member may read it, so the
`*_visible_to` querysets only hide inactive profiles. It holds no patient data, so its reads
are not audited (clinical reads are, in their own apps).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from directory.models import Member, Membership, Organisation, ProfessionMismatch
from security.access import get_or_not_found
from security.compiled import CompiledQuery
from security.exceptions import NotFound
from security.principals import active_member_of
from security.text import Fold, fold


def organisations_visible_to(member: Member | None) -> QuerySet[Organisation]:
    """Every organisation of the directory, with its parent loaded."""
    return Organisation.objects.select_related("parent").order_by("name", "pk")


def members_visible_to(member: Member | None) -> QuerySet[Member]:
    """Active members, with their organisations loaded in one extra query."""
    memberships = Membership.objects.select_related("organisation").order_by("organisation__name")
    return (
        Member.objects.filter(is_active=True)
        .select_related("user")
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("family_name", "given_name", "pk")
    )


def members_of(member: Member, organisation: Organisation) -> QuerySet[Member]:
    """Active members working in `organisation`."""
    ids = Membership.objects.filter(organisation=organisation).values("member_id")
    return members_visible_to(member).filter(pk__in=ids)


def services_of(member: Member, organisation: Organisation) -> QuerySet[Organisation]:
    """The organisations attached to `organisation` (a hospital's services)."""
    return organisations_visible_to(member).filter(parent=organisation)


def members_with_codes(member: Member, codes: list[str]) -> QuerySet[Member]:
    """Active members among these public ids (unknown or malformed ids are ignored)."""
    valid = []
    for code in codes:
        try:
            valid.append(UUID(str(code)))
        except ValueError:
            continue
    return members_visible_to(member).filter(code__in=valid)


def access_organisation(member: Member, code: UUID | str) -> Organisation:
    """The organisation with this public id, or NotFound."""
    return get_or_not_found(organisations_visible_to(member), "organisation", code=code)


def access_member(member: Member, code: UUID | str) -> Member:
    """The member with this public id, or NotFound (inactive members are hidden)."""
    return get_or_not_found(members_visible_to(member), "member", code=code)


def members_kept_by(member: Member) -> QuerySet[Member]:
    """Every member, active or not, for the coordination that keeps the directory.

    Everyone else gets NotFound: to them a deactivated member does not exist.
    """
    require_coordinator(member, what="member")
    memberships = Membership.objects.select_related("organisation").order_by("organisation__name")
    return (
        Member.objects.select_related("user")
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("family_name", "given_name", "pk")
    )


def access_member_to_keep(member: Member, code: UUID | str) -> Member:
    """The member with this public id, active or not, for the coordination; else NotFound."""
    return get_or_not_found(members_kept_by(member), "member", code=code)


def memberships_of(shown: Member) -> QuerySet[Membership]:
    """A member's structures and roles, by structure name (the member edit page, the API)."""
    return (
        Membership.objects.filter(member=shown)
        .select_related("organisation", "organisation__parent")
        .order_by("organisation__name", "pk")
    )


def access_membership(shown: Member, organisation_code: UUID | str) -> Membership:
    """The membership of `shown` (already accessed) in this structure, or NotFound."""
    return get_or_not_found(
        memberships_of(shown), "membership", organisation__code=organisation_code
    )


def deactivated_members(member: Member) -> QuerySet[Member]:
    """The deactivated members, for the coordination (to reactivate one)."""
    return members_kept_by(member).filter(is_active=False)


def organisation_ids_of(member: Member) -> list[int]:
    """The organisations the member works in: one query per request, cached on the member.

    Every app's access rules start from it (a sheet of my practice, a conversation of my
    inbox). The member object lives for one request (or one task), so a membership change
    is seen by the next request.
    """
    cached: list[int] | None = getattr(member, "_organisation_ids", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(member=member).values_list("organisation_id", flat=True)
        )
        member._organisation_ids = cached  # type: ignore[attr-defined]
    return cached


def visible_by_code(
    read: CompiledQuery[Any], codes: Collection[UUID], member: Member
) -> dict[UUID, Any]:
    """The rows among `codes` that `member` may see, by code, through `read`: a compiled query
    (security.compiled) taking the member's key, organisations and codes. The notification
    describers of sheets and conversations read their targets this way, on every page."""
    if not codes:
        return {}
    rows = read.fetch(
        member_id=member.pk, organisation_ids=organisation_ids_of(member), codes=sorted(codes)
    )
    return {row.code: row for row in rows}


def remember_organisation_ids(user: object, organisation_ids: list[int]) -> None:
    """Cache the organisations of the member behind `user`, loaded with the login (one query:
    security.tokens declares nothing of the directory, directory.apps declares this)."""
    member = getattr(user, "member", None)
    if member is not None:
        member._organisation_ids = list(dict.fromkeys(organisation_ids))


# The coordination of the CPTS: the administrators of a CPTS organisation. Membership has two
# roles (member, admin); an admin of a practice or a hospital administers that organisation's
# guide page, not the CPTS. "Directory admin" and "coordinator" are this one rule: the
# coordination keeps the directory, reads the audit trail, sees every protocol and the
# indicators, and is told about what nobody else picked up.
_COORDINATION = Q(role=Membership.Role.ADMIN, organisation__kind=Organisation.Kind.CPTS)


def is_coordinator(member: Member | None) -> bool:
    """Whether `member` belongs to the CPTS coordination. An inactive member coordinates
    nothing (their account may still exist while a successor takes over).

    One query per request, cached on the member object (which lives for one request or one
    task), however many rules ask.
    """
    if member is None or not member.is_active:
        return False
    cached: bool | None = getattr(member, "_is_coordinator", None)
    if cached is None:
        cached = Membership.objects.filter(_COORDINATION, member=member).exists()
        member._is_coordinator = cached  # type: ignore[attr-defined]
    return cached


def require_coordinator(member: Member | None, *, what: str) -> None:
    """Raise NotFound (404) naming only `what` unless `member` belongs to the coordination.

    404 rather than 403 for what only the coordination sees (the audit trail, the
    indicators): a refusal would still tell the caller the resource exists, and the trail
    reveals who touched which patient's records. Writes the coordination alone may make
    (the directory) answer 403 instead, see directory.services.
    """
    if not is_coordinator(member):
        raise NotFound(what)


def coordinators() -> list[Member]:
    """The active members of the coordination, to alert when nobody else will act."""
    memberships = Membership.objects.filter(_COORDINATION, member__is_active=True)
    return list(Member.objects.filter(pk__in=memberships.values("member_id")).order_by("pk"))


def works_in(organisation_id: int) -> Exists:
    """A condition on Member: works in this organisation (to combine in one query)."""
    return Exists(Membership.objects.filter(member=OuterRef("pk"), organisation_id=organisation_id))


def _active_members_of(organisation_id: int) -> QuerySet[Member]:
    return (
        Member.objects.filter(is_active=True, memberships__organisation_id=organisation_id)
        .distinct()
        .order_by("pk")
    )


# Compiled once per thread: every referral sent tells its service's members, and compiling
# the join was most of the read's CPU (as for the other per-request reads: security.compiled).
_ACTIVE_MEMBERS = CompiledQuery(_active_members_of, organisation_id=int)


def active_members_of(organisation_id: int) -> list[Member]:
    """Who works in an organisation today: told on behalf of a service or an inbox."""
    return _ACTIVE_MEMBERS.fetch(organisation_id=organisation_id)


def member_for_user(user: object) -> Member | None:
    """The active member behind a login, or None (e.g. a bare superuser account).

    The rule is security's (security.principals.active_member_of), which applies it below
    the directory too: to the second factor and to the audit trail.
    """
    member: Member | None = active_member_of(user)
    return member


def active_member_named(username: str) -> Member | None:
    """The active member behind a login (management commands name their actor this way)."""
    return (
        Member.objects.filter(user__username=username, is_active=True)
        .select_related("user")
        .first()
    )


# --- Search --------------------------------------------------------------------------------
#
# What people type to find a colleague: a name, a profession ("infirmière", "kiné") or a
# service or structure ("cardiologie", "pharmacie du centre"), in any case, with or without
# accents. Every word must match one of them (so "infirmier cardiologie" narrows down).

SEARCH_WORDS = 5


def search_words(query: str) -> list[str]:
    """The words of a search, lower case without accents, as the folded columns hold them."""
    return [word for word in fold(query).split() if word][:SEARCH_WORDS]


def _matches_label(word: str, label: str) -> bool:
    """A word matches a label when the label contains it, or when it starts with one of the
    label's words ("infirmière" → "infirmier", "pharmacienne" → "pharmacien")."""
    folded = fold(label)
    return word in folded or any(
        len(part) >= 5 and word.startswith(part) for part in folded.replace("-", " ").split()
    )


def professions_matching(word: str) -> list[str]:
    """The profession codes whose French label (or code) matches a folded word."""
    return [
        code
        for code, label in Member.Profession.choices
        if _matches_label(word, str(label)) or word in code
    ]


def search_members(queryset: QuerySet[Member], query: str) -> QuerySet[Member]:
    """Members of `queryset` matching every word by name, profession, specialty, or the name
    of a structure they work in (or of its parent: a hospital finds the people of its
    services), accent- and case-blind: "helene" finds Hélène, "infirmiere cardiologie" the
    nurses of cardiology. The one search of the directory pages, its API and the composer.

    Names are matched on the folded columns the models keep (Member.search_folded,
    Organisation.name_folded); the specialty, rarely searched, is folded by the database.
    """
    words = search_words(query)
    if not words:
        return queryset
    queryset = queryset.alias(folded_specialty=Fold("specialty"))
    for word in words:
        in_structure = Membership.objects.filter(
            Q(organisation__name_folded__contains=word)
            | Q(organisation__parent__name_folded__contains=word)
        ).values("member_id")
        queryset = queryset.filter(
            Q(search_folded__contains=word)
            | Q(folded_specialty__contains=word)
            | Q(profession__in=professions_matching(word))
            | Q(pk__in=in_structure)
        )
    return queryset


def search_organisations(queryset: QuerySet[Organisation], query: str) -> QuerySet[Organisation]:
    """Organisations whose name has every word, accent- and case-blind."""
    for word in search_words(query):
        queryset = queryset.filter(name_folded__contains=word)
    return queryset


def profession_mismatch_of(member: Member) -> ProfessionMismatch | None:
    """What Pro Santé Connect last reported of this member's profession, if it differs."""
    return ProfessionMismatch.objects.filter(member=member).first()
