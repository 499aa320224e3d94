"""Password changes: the member's own (with the current password) and the e-mailed reset.

A new password ends everything the old one opened: the other web sessions (Django checks a
hash of the password on every request, so a session made with the old one is logged out),
and every API token of the account, revoked here at once so that the lists and the audit
trail say why (security.tokens would otherwise find out at their next use).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from security import actions, audit, tokens
from security.login_guard import address_key
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


def may_send_reset(*, address: str, email: str) -> bool:
    """Whether a reset e-mail may go to `email` on a request from `address`, and count it.

    PASSWORD_RESET_MAX_PER_HOUR per client address and per e-mail address, per clock hour.
    Over it the page gives the same answer and sends nothing: it must not tell whether the
    address exists, nor let anyone flood a colleague's mailbox.
    """
    limit = settings.PASSWORD_RESET_MAX_PER_HOUR
    if limit <= 0:
        return True
    hour = int(time.time() // 3600)
    email_digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    allowed = True
    for key in (
        f"pwreset:addr:{address_key(address)}:{hour}",
        f"pwreset:mail:{email_digest}:{hour}",
    ):
        cache.add(key, 0, timeout=3600)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=3600)
            count = 1
        allowed = allowed and count <= limit
    return allowed
