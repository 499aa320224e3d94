"""Nothing typed is lost when a session expires: the form's content waits for its author.

The flow (security.middleware.FormDraftMiddleware does the plumbing):
1. a logged-in browser is given a signed cookie naming its account (OWNER_COOKIE), set at
   each login, cleared at logout;
2. a form posted after the session expired is refused by the page (redirect to login); its
   fields are kept (keep), encrypted, under a random key stored in the new anonymous session,
   for the account the cookie names;
3. after login (the session keeps its data through login), the first visit of the same page
   by that same account takes the draft back (take) and the page puts it into the form
   (static/js/form-draft.js); the row is deleted.

Another person logging in at the same browser gets nothing: the draft belongs to the account
that typed it. Files are not kept (they are too large for this, and are picked again).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import QueryDict
from django.utils.timezone import now

from security.models import FormDraft

DRAFT_LIFETIME = timedelta(hours=2)
SESSION_KEY = "form_draft"
OWNER_COOKIE = "cpts_form_owner"
OWNER_COOKIE_SALT = "security.drafts.owner"
OWNER_COOKIE_MAX_AGE = 30 * 24 * 3600
# Fields that are the form's machinery, not what the person typed.
_NOT_TYPED = {"csrfmiddlewaretoken", "next"}
# Secrets are never kept, even encrypted: a password, a second-factor code, a token.
_SECRET = re.compile(r"password|mot_de_passe|secret|token|otp|^code$", re.IGNORECASE)
MAX_FIELDS = 500
MAX_VALUE_CHARS = 100_000


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def typed_fields(post: QueryDict) -> dict[str, list[str]]:
    """What the person typed in a posted form: every field and its values, in order."""
    data: dict[str, list[str]] = {}
    for name, values in post.lists():
        if name in _NOT_TYPED or _SECRET.search(name) or len(data) >= MAX_FIELDS:
            continue
        data[name] = [value[:MAX_VALUE_CHARS] for value in values]
    return data


@transaction.atomic
def keep(*, user_id: Any, path: str, data: dict[str, list[str]]) -> str | None:
    """Keep `data` for the account `user_id`; return the key that gets it back (session).

    None when that account no longer exists (a cookie older than the account's removal).
    """
    at = now()
    FormDraft.objects.filter(expires_at__lte=at).delete()
    if not get_user_model().objects.filter(pk=user_id).exists():
        return None
    key = secrets.token_urlsafe(32)
    FormDraft.objects.create(
        user_id=user_id,
        digest=_digest(key),
        path=path[:500],
        data=data,
        created_at=at,
        expires_at=at + DRAFT_LIFETIME,
    )
    return key


@transaction.atomic
def take(*, user: Any, key: str, path: str) -> dict[str, list[str]] | None:
    """The draft kept under `key` for `user` on `path`, deleted as it is given back.

    None when there is none: expired, another account's, or another page's.
    """
    FormDraft.objects.filter(expires_at__lte=now()).delete()
    draft = (
        FormDraft.objects.select_for_update()
        .filter(digest=_digest(key), user_id=user.pk, path=path[:500], expires_at__gt=now())
        .first()
    )
    if draft is None:
        return None
    data: dict[str, list[str]] = draft.data
    draft.delete()
    return data


def discard(key: str) -> None:
    """Forget the draft kept under `key`, whoever it belongs to (logout, another account)."""
    FormDraft.objects.filter(digest=_digest(key)).delete()


def belongs_to(key: str, user: Any) -> bool:
    return FormDraft.objects.filter(digest=_digest(key), user_id=user.pk).exists()
