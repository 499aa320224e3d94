"""The account a member manages themselves: password and language.

Security decides what a new password ends (security.passwords); this floor knows the
account's profile (its language).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from directory.models import User
from security import passwords
from security.exceptions import FieldErrors


def change_password(*, user: User, password: str) -> None:
    """The member's new password (checked by the form against the current one and the rules).

    Ends the account's other sessions and every API token (security.passwords).
    """
    passwords.change_password(user=user, password=password)


def set_language(*, user: User, language: str) -> None:
    """Remember the interface language the member chose; applied at each login."""
    if language not in dict(settings.LANGUAGES):
        raise FieldErrors({"language": [_("Langue inconnue.")]})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
