"""Password changes: the member's own (with the current password) and the e-mailed reset.

A new password ends everything the old one opened: the other web sessions (Django checks a
hash of the password on every request, so a session made with the old one is logged out),
and every API token of the account, revoked here at once so that the lists and the audit
trail say why (security.tokens would otherwise find out at their next use).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from security import actions, audit, tokens
from security.models import ApiToken
from security.principals import active_member_of


@transaction.atomic
def change_password(*, user: Any, password: str) -> None:
    """Set `user`'s new password (already validated by the form), as the member themselves."""
    user.set_password(password)
    user.save(update_fields=["password"])
    password_changed(user=user, action=actions.PASSWORD_CHANGE)


@transaction.atomic
def password_changed(*, user: Any, action: str) -> None:
    """What follows a new password, whoever set it: tokens revoked, an audit entry."""
    member = active_member_of(user)
    tokens.revoke_tokens_of(user=user, actor=member, reason=ApiToken.RevokedReason.PASSWORD_CHANGED)
    audit.record(actor=member, action=action, target=member)
