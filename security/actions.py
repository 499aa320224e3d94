"""The registry of audited actions: every name the trail may hold, with its French label.

Each app declares the actions it records in its `actions.py` (security's own are at the end
of this module), once, and passes the constant to `security.audit.record(action=...)`:

    SHEET_READ = register_action("liaison_sheet.read", _("Consultation d'une fiche de liaison"))

One registry, so that the trail can be read and reported on: `manage.py verify_audit
--list-actions` and the audit API (`GET /api/v1/audit/actions/`) list every action with its
label, and a report on "who read this sheet" filters on a declared name, not on a string
typed twice. `record()` refuses a name nobody declared when AUDIT_STRICT_ACTIONS is on (in
DEBUG and in the tests), so a typo or a name built on the fly shows in development. In
production an undeclared name is logged and recorded all the same: losing an audit entry,
and rolling back the change it records, would be worse than an entry without a label.

Names are `<model>.<verb>`. A stored name never changes: existing entries, and their seals,
hold it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from security.registry import Registry

ACTION_MODULES = ("actions",)
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
MAX_ACTION_LENGTH = 64


@dataclass(frozen=True)
class AuditAction:
    name: str
    label: str | Promise


_registry: Registry[AuditAction] = Registry(
    ACTION_MODULES[0], what="audit action", name_of=lambda spec: spec.name
)


def register_action(name: str, label: str | Promise) -> str:
    """Declare an audited action and its French label; return its name, for a constant.

    Declaring the same action twice is harmless (a module imported again); two different
    labels under one name are a configuration error, as is a name not shaped `<model>.<verb>`.
    """
    if len(name) > MAX_ACTION_LENGTH or not ACTION_PATTERN.fullmatch(name):
        raise ImproperlyConfigured(f"audit action {name!r}: use `<model>.<verb>`")
    _registry.declare(AuditAction(name=name, label=label))
    return name


def is_declared(name: str) -> bool:
    """Whether some app declared this action (every app's `actions.py` is read first)."""
    return _registry.get(name) is not None


def action_label(name: str) -> str:
    """The French label of an action; the name itself for one nobody declared (old rows)."""
    spec = _registry.get(name)
    return str(spec.label) if spec is not None else name


def registered_actions() -> list[AuditAction]:
    """Every declared action, in name order."""
    return _registry.all()


# --- Security's own actions -------------------------------------------------------------------

# The audit trail itself: reading it reveals who touched which patient's records.
AUDIT_LIST = register_action("audit.list", _("Consultation du journal d'audit"))

# Logins: one client address blocked after failed logins across usernames (password spraying).
# The entry carries the address (its `ip`) and counts, never the usernames tried.
LOGIN_ADDRESS_BLOCKED = register_action(
    "login.address_blocked", _("Adresse bloquée après des échecs de connexion")
)

# API tokens: who made which token (kind, prefix) and when and why it died; never the secret.
API_TOKEN_CREATE = register_action("api_token.create", _("Création d'un jeton d'API"))
API_TOKEN_REVOKE = register_action("api_token.revoke", _("Révocation d'un jeton d'API"))

# Second factor: enrolment, failures, recovery codes, and a reset by an administrator (lost
# phone and codes).
TWO_FACTOR_ENROL = register_action(
    "two_factor.enrol", _("Activation de la double authentification")
)
TWO_FACTOR_FAILURE = register_action(
    "two_factor.failure", _("Code de double authentification refusé")
)
TWO_FACTOR_RECOVERY_CODE_USED = register_action(
    "two_factor.recovery_code_used", _("Connexion avec un code de secours")
)
TWO_FACTOR_RECOVERY_CODES_REGENERATED = register_action(
    "two_factor.recovery_codes_regenerated", _("Nouveaux codes de secours")
)
TWO_FACTOR_RESET = register_action(
    "two_factor.reset", _("Réinitialisation de la double authentification")
)

# Passwords: changed by the member (with the current one) or reset through an e-mailed link.
# Either ends the account's other sessions and every API token.
PASSWORD_CHANGE = register_action("password.change", _("Changement du mot de passe"))
PASSWORD_RESET = register_action("password.reset", _("Réinitialisation du mot de passe par e-mail"))

# Logins (issue #18): each one with its method ("psc" or "password", then "password+totp" once
# the second factor passed), the assurance level (acr) and PSC's session id (sid). Never a
# token. A PSC login refused (unknown RPPS, a check failed) is recorded with its reason.
LOGIN = register_action("login.success", _("Connexion"))
LOGIN_SECOND_FACTOR = register_action(
    "login.second_factor", _("Connexion confirmée par la double authentification")
)
LOGIN_PSC_REFUSED = register_action("login.psc_refused", _("Connexion Pro Santé Connect refusée"))
REAUTHENTICATION = register_action(
    "login.reauthentication", _("Nouvelle authentification avant une action sensible")
)
LOGOUT = register_action("login.logout", _("Déconnexion"))
SESSION_EXPIRED = register_action(
    "login.session_expired", _("Session terminée (inactivité ou durée maximale)")
)
