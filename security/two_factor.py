"""Who must use two-factor authentication, and checking a code.

Every active member may receive liaison sheets or messages about patients, so every member
handles clinical data; a bare account without a member profile (a technical admin) is held
to the same rule when it is staff.
"""

from __future__ import annotations

from typing import Any

from django_otp import devices_for_user


def two_factor_required_for(user: Any) -> bool:
    """Whether this account must pass TOTP before it reaches clinical data."""
    return bool(getattr(user, "is_authenticated", False))


def has_confirmed_device(user: Any) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))
