"""Writes on the directory: the only sanctioned way to create or change its entries.

Every write validates the whole row with the model's validators (so RPPS, ADELI and FINESS
keys are checked whatever the entry point: API, web form, CSV import, demo loader).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory import actions
from directory.models import Member, Membership, Organisation, User
from directory.selectors import is_coordinator
from security import audit, tokens
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from security.idempotency import mark_replayed
from security.models import ApiToken

ORGANISATION_FIELDS = (
    "name", "kind", "finess", "parent", "address", "commune", "postcode", "phone", "email",
)  # fmt: skip
MEMBER_ADMIN_FIELDS = (
    "family_name", "given_name", "civility", "profession", "specialty", "rpps", "adeli", "phone",
    "is_active",
)  # fmt: skip
MEMBER_SELF_FIELDS = ("specialty", "rpps", "adeli", "phone")


def _require_directory_admin(actor: Member | None) -> None:
    """Only the coordination keeps the directory (directory.selectors.is_coordinator).

    403, not 404: the directory is everyone's to read, so refusing a write reveals nothing.
    `actor` None is the system: an import run from the command line (or the demo loader),
    whose operator has the server in hand; its writes are audited with no actor.
    """
    if actor is not None and not is_coordinator(actor):
        raise PermissionDenied(_("Seule la coordination de la CPTS peut modifier l'annuaire."))


def _check_parent(organisation: Organisation) -> None:
    parent = organisation.parent
    is_service = organisation.kind == Organisation.Kind.HOSPITAL_SERVICE
    if is_service and (parent is None or parent.kind != Organisation.Kind.HOSPITAL):
        raise ValidationError(
            {"parent": [_("Un service hospitalier doit être rattaché à un établissement.")]}
        )
    if parent is not None and parent.pk is not None and parent.pk == organisation.pk:
        raise ValidationError(
            {"parent": [_("Une organisation ne peut pas être son propre parent.")]}
        )


def _save(instance: Organisation | Member, *, update_fields: Iterable[str] | None = None) -> None:
    """full_clean then save; a lost uniqueness race still becomes a field error."""
    instance.full_clean(exclude=["user"] if isinstance(instance, Member) else None)
    try:
        with transaction.atomic():
            instance.save(update_fields=list(update_fields) if update_fields else None)
    except IntegrityError as exc:
        raise ValidationError(_("Cette entrée existe déjà dans l'annuaire.")) from exc


@transaction.atomic
def create_organisation(*, actor: Member | None, **fields: Any) -> Organisation:
    """Add an organisation to the directory (coordination only; actor None = system/demo)."""
    if actor is not None:
        _require_directory_admin(actor)
    organisation = Organisation(**{k: v for k, v in fields.items() if k in ORGANISATION_FIELDS})
    if organisation.finess:
        organisation.finess = organisation.finess.upper()
    _check_parent(organisation)
    _save(organisation)
    return organisation


@transaction.atomic
def update_organisation(
    *, actor: Member | None, organisation: Organisation, **fields: Any
) -> Organisation:
    """Change an organisation's fields (coordination only; actor None = the system, for an
    import run from the command line)."""
    _require_directory_admin(actor)
    changed = [name for name in ORGANISATION_FIELDS if name in fields]
    for name in changed:
        setattr(organisation, name, fields[name])
    _check_parent(organisation)
    _save(organisation, update_fields=[*changed, "updated_at"])
    return organisation


@transaction.atomic
def create_member(
    *,
    actor: Member | None,
    username: str,
    email: str = "",
    password: str | None = None,
    memberships: Iterable[tuple[Organisation, str]] = (),
    creation_key: str = "",
    **fields: Any,
) -> Member:
    """Create a login and its professional profile, with its memberships.

    Without a password the account cannot log in until one is set (an invitation flow
    will set it); the demo loader passes one. Retried with the same `creation_key`, it
    returns the member the first call added, marked as a replay (security.idempotency).
    """
    if actor is not None:
        _require_directory_admin(actor)
    if creation_key:
        existing = Member.objects.filter(creation_key=creation_key).first()
        if existing is not None:
            return mark_replayed(existing)
    memberships = list(memberships)
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": [_("Cet identifiant est déjà utilisé.")]})
    member = Member(**{k: v for k, v in fields.items() if k in MEMBER_ADMIN_FIELDS})
    member.creation_key = creation_key
    _save_new_member(member, username=username, email=email, password=password)
    for organisation, role in memberships:
        Membership.objects.create(member=member, organisation=organisation, role=role)
    if actor is not None:
        audit.record(
            actor=actor,
            action=actions.MEMBER_CREATE,
            target=member,
            extra={
                "organisations": [str(organisation.code) for organisation, _role in memberships]
            },
        )
    return member


def _save_new_member(member: Member, *, username: str, email: str, password: str | None) -> None:
    member.full_clean(exclude=["user"])
    user = User(username=username, email=email, first_name=member.given_name)
    user.last_name = member.family_name
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    member.user = user
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as exc:
        raise ValidationError(_("Ce numéro RPPS ou ADELI est déjà enregistré.")) from exc


@transaction.atomic
def update_member(*, actor: Member | None, member: Member, **fields: Any) -> Member:
    """Change a member's profile: admins change anything, a member only their own details.

    `actor` None is the system, for an import run from the command line: it changes what an
    admin changes, audited with no actor.

    `is_active` goes through deactivate_member / reactivate_member, so that the API's PATCH
    and the pages close (or reopen) an account the same way, with the same audit entry.
    """
    own = actor is not None and actor.pk == member.pk
    allowed = MEMBER_SELF_FIELDS if own else MEMBER_ADMIN_FIELDS
    if not own or set(fields) - set(MEMBER_SELF_FIELDS):
        _require_directory_admin(actor)
        allowed = MEMBER_ADMIN_FIELDS
    email = fields.pop("email", None)
    active = fields.pop("is_active", None)
    if actor is None and active is not None:
        # Closing or reopening an account is a person's decision, audited under their name.
        raise PermissionDenied(_("Seule la coordination de la CPTS peut modifier l'annuaire."))
    changed = [name for name in allowed if name in fields and name != "is_active"]
    for name in changed:
        setattr(member, name, fields[name])
    _save(member, update_fields=[*changed, "updated_at"])
    if email is not None and email != member.user.email:
        _require_directory_admin(actor)
        User.objects.filter(pk=member.user_id).update(email=email)
        member.user.email = email
        changed.append("email")
    if changed:
        audit.record(
            actor=actor, action=actions.MEMBER_UPDATE, target=member, extra={"fields": changed}
        )
    if actor is not None and active is False and member.is_active:
        deactivate_member(actor=actor, member=member)
    elif actor is not None and active is True and not member.is_active:
        reactivate_member(actor=actor, member=member)
    return member


@transaction.atomic
def deactivate_member(*, actor: Member, member: Member) -> Member:
    """Close a member's access to the CPTS (coordination only); the profile and history stay.

    The next request of any of their sessions finds no active member (security.principals),
    and their API tokens are revoked here. 409 when the member is already deactivated, or
    when the coordinator would lock themselves out.
    """
    _require_directory_admin(actor)
    if actor.pk == member.pk:
        raise InvalidTransition(_("Vous ne pouvez pas désactiver votre propre compte."))
    updated = Member.objects.filter(pk=member.pk, is_active=True).update(
        is_active=False, updated_at=now()
    )
    if updated != 1:
        raise InvalidTransition(_("Ce membre est déjà désactivé."))
    member.is_active = False
    # A deactivated member keeps no door open: scripts and integrations included.
    tokens.revoke_tokens_of(
        user=member.user, actor=actor, reason=ApiToken.RevokedReason.DEACTIVATED
    )
    audit.record(actor=actor, action=actions.MEMBER_DEACTIVATE, target=member)
    return member


@transaction.atomic
def reactivate_member(*, actor: Member, member: Member) -> Member:
    """Give a deactivated member their access back (coordination only); 409 if active.

    Their tokens stay revoked: they log in again and ask for new ones.
    """
    _require_directory_admin(actor)
    updated = Member.objects.filter(pk=member.pk, is_active=False).update(
        is_active=True, updated_at=now()
    )
    if updated != 1:
        raise InvalidTransition(_("Ce membre est déjà actif."))
    member.is_active = True
    audit.record(actor=actor, action=actions.MEMBER_REACTIVATE, target=member)
    return member


@transaction.atomic
def set_password_login_allowed(*, actor: Member, member: Member, allowed: bool) -> Member:
    """Allow or refuse the password (+ TOTP) login of a member (coordination only).

    Refused, the member logs in with Pro Santé Connect only (directory.account.forms): the
    coordinator's way to apply the PGSSI-S to those who have an e-CPS, person by person.
    """
    _require_directory_admin(actor)
    Member.objects.filter(pk=member.pk).update(password_login_allowed=allowed, updated_at=now())
    member.password_login_allowed = allowed
    audit.record(
        actor=actor,
        action=actions.MEMBER_UPDATE,
        target=member,
        extra={"fields": ["password_login_allowed"]},
    )
    return member


# --- Memberships: a member's structures and their role in each --------------------------
#
# The rules, whoever calls (the member edit page, the API): the coordination only; a role
# of the list; one membership per structure; a member keeps at least one structure (the
# directory, the shared inboxes and the indicators place people by their structures); and a
# coordinator cannot take away their own coordination (they would lock themselves out, as
# deactivate_member refuses for their account). Ending a membership deletes its row: the
# audit entry keeps which structure and role it was.


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise FieldErrors({"role": [_("Rôle inconnu : membre ou administrateur.")]})


def _is_own_coordination(actor: Member, membership: Membership) -> bool:
    return (
        membership.member_id == actor.pk
        and membership.role == Membership.Role.ADMIN
        and membership.organisation.kind == Organisation.Kind.CPTS
    )


def _membership_extra(membership: Membership) -> dict[str, Any]:
    return {"organisation": str(membership.organisation.code), "role": membership.role}


@transaction.atomic
def add_membership(
    *, actor: Member | None, member: Member, organisation: Organisation, role: str
) -> Membership:
    """Attach `member` to one more structure, with a role (coordination only; actor None =
    the system, for an import run from the command line, audited with no actor)."""
    _require_directory_admin(actor)
    _check_role(role)
    taken = _("Ce membre appartient déjà à cette structure.")
    if Membership.objects.filter(member=member, organisation=organisation).exists():
        raise FieldErrors({"organisation": [taken]})
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                member=member, organisation=organisation, role=role
            )
    except IntegrityError:  # added concurrently: the constraint decided
        raise FieldErrors({"organisation": [taken]}) from None
    audit.record(
        actor=actor,
        action=actions.MEMBERSHIP_ADD,
        target=member,
        extra=_membership_extra(membership),
    )
    return membership


@transaction.atomic
def change_membership_role(
    *, actor: Member | None, membership: Membership, role: str
) -> Membership:
    """Change the member's role in one structure (coordination only; actor None = the
    system, for an import run from the command line, audited with no actor); the same role
    is a no-op, so a resent form changes nothing and records nothing."""
    _require_directory_admin(actor)
    _check_role(role)
    if role == membership.role:
        return membership
    if actor is not None and _is_own_coordination(actor, membership):
        raise InvalidTransition(_("Vous ne pouvez pas retirer votre propre rôle de coordination."))
    updated = Membership.objects.filter(pk=membership.pk, role=membership.role).update(
        role=role, updated_at=now()
    )
    if updated != 1:
        raise InvalidTransition(_("Ce rattachement vient d'être modifié : rechargez la page."))
    previous, membership.role = membership.role, role
    audit.record(
        actor=actor,
        action=actions.MEMBERSHIP_CHANGE_ROLE,
        target=membership.member,
        extra={**_membership_extra(membership), "previous": previous},
    )
    return membership


@transaction.atomic
def end_membership(*, actor: Member, membership: Membership) -> None:
    """Detach the member from one structure (coordination only); 409 for their last one.

    The member's memberships are locked first, so that two coordinators ending the last two
    structures at the same time cannot leave the member with none.
    """
    _require_directory_admin(actor)
    if _is_own_coordination(actor, membership):
        raise InvalidTransition(_("Vous ne pouvez pas retirer votre propre rôle de coordination."))
    held = list(
        Membership.objects.select_for_update()
        .filter(member_id=membership.member_id)
        .values_list("pk", flat=True)
    )
    if membership.pk not in held:
        raise InvalidTransition(_("Ce rattachement a déjà pris fin."))
    if len(held) <= 1:
        raise InvalidTransition(
            _("Un membre garde au moins une structure : ajoutez-en une autre avant.")
        )
    Membership.objects.filter(pk=membership.pk).delete()
    audit.record(
        actor=actor,
        action=actions.MEMBERSHIP_END,
        target=membership.member,
        extra=_membership_extra(membership),
    )


def issue_api_token(*, user: User, name: str = "API", issued_with_2fa: bool = False) -> str:
    """The secret of a new personal API token for `user` (scripts, tests, the demo).

    The token endpoint checks the password and the second factor before calling
    security.tokens.issue_personal_token itself; this shortcut checks nothing.
    """
    return tokens.issue_personal_token(user=user, name=name, issued_with_2fa=issued_with_2fa).secret


INTEGRATION_GIVEN_NAME = "Intégration"


@transaction.atomic
def create_integration_token(
    *, actor: Member | None, organisation: Organisation, name: str, scopes: list[str]
) -> tokens.IssuedToken:
    """A scoped, long-lived token for a system of `organisation` (coordination only).

    The system acts as a service account: a member of `organisation` named
    "Intégration <name>", without a usable password (it cannot log in on the web or ask the
    token endpoint) and without any admin role. What it sends is therefore attributed to
    that organisation and to that integration in the audit trail, and it sees exactly what
    a member of the organisation sees, narrowed by the token's scopes. Asking again with the
    same organisation and name reuses the account and adds a token (rotation: switch the
    system over, then revoke the old token).
    """
    if actor is not None:
        _require_directory_admin(actor)
    name = " ".join(name.split())
    if not name:
        raise FieldErrors({"name": [_("Donnez un nom à cette intégration.")]})
    checked_scopes = tokens.check_scopes(scopes)
    username = f"integration.{organisation.code.hex[:8]}.{slugify(name)[:100]}"
    service_account = Member.objects.filter(user__username=username).select_related("user").first()
    if service_account is None:
        service_account = create_member(
            actor=actor,
            username=username,
            password=None,
            memberships=[(organisation, Membership.Role.MEMBER)],
            family_name=name[:150],
            given_name=INTEGRATION_GIVEN_NAME,
            profession=Member.Profession.OTHER,
        )
    elif not service_account.is_active:
        raise FieldErrors({"name": [_("Cette intégration a été désactivée dans l'annuaire.")]})
    return tokens.issue_integration_token(
        user=service_account.user, name=name, scopes=checked_scopes, actor=actor
    )
