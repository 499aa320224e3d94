"""The authentication backend a Pro Santé Connect session is opened with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class ProSanteConnectBackend(ModelBackend):
    """Loads the session's user like ModelBackend, and never checks a password.

    A PSC login is verified by directory.psc.client and matched by directory.psc.services,
    then opened with django.contrib.auth.login(backend=this). Listing it in
    AUTHENTICATION_BACKENDS lets Django reload the user of such a session; `authenticate`
    returning None keeps it out of every password check (the login form, the token API).
    """

    def authenticate(
        self, request: Any, username: Any = None, password: Any = None, **kwargs: Any
    ) -> None:
        return None
