"""Reads on the directory.

The directory is the CPTS's shared who's who: every active member may read it, so the
`*_visible_to` querysets only hide inactive profiles. It holds no patient data, so its reads
are not audited (clinical reads are, in their own apps).
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from directory.models import Member, Membership, Organisation
from security.exceptions import NotFound


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
    # Written out rather than security.access.get_or_not_found, which imports this module
    # (its coordinator check) until security stops importing directory; same rule: a
    # malformed id is a miss.
    try:
        return organisations_visible_to(member).get(code=code)
    except (Organisation.DoesNotExist, ValueError, ValidationError):
        raise NotFound("organisation") from None


def access_member(member: Member, code: UUID | str) -> Member:
    """The member with this public id, or NotFound (inactive members are hidden)."""
    try:  # as in access_organisation
        return members_visible_to(member).get(code=code)
    except (Member.DoesNotExist, ValueError, ValidationError):
        raise NotFound("member") from None


def is_directory_admin(member: Member) -> bool:
    """Directory admins are the admins of a CPTS organisation (the coordination team)."""
    return Membership.objects.filter(
        member=member,
        role=Membership.Role.ADMIN,
        organisation__kind=Organisation.Kind.CPTS,
    ).exists()


def member_for_user(user: object) -> Member | None:
    """The active member behind a login, or None (e.g. a bare superuser account)."""
    member = getattr(user, "member", None) if getattr(user, "is_authenticated", False) else None
    if member is None or not member.is_active:
        return None
    return member


def active_member_named(username: str) -> Member | None:
    """The active member behind a login (management commands name their actor this way)."""
    return (
        Member.objects.filter(user__username=username, is_active=True)
        .select_related("user")
        .first()
    )
