"""Errors the business layer raises on purpose; security/api.py maps them to HTTP.

The core never raises DRF exceptions: it does not know it sits behind HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business-rule violation: 400 unless a subclass says otherwise."""

    status_code = 400
    code = "invalid"

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def readable(self) -> str:
        """The error in words for a page's flash message (the API answers JSON instead)."""
        return str(self.detail)


class NotFound(DomainError):
    """Missing or out of the caller's reach: the two are the same answer on purpose."""

    status_code = 404
    code = "not_found"


class InvalidTransition(DomainError):
    """The object's current state forbids the action."""

    status_code = 409
    code = "invalid_transition"


class StaleVersion(DomainError):
    """The caller edited an old version (If-Match did not match)."""

    status_code = 412
    code = "stale_version"

    def __init__(self, *, current_version: int) -> None:
        super().__init__(
            f"resource changed; current version is {current_version}",
            current_version=current_version,
        )
        self.current_version = current_version


class FieldErrors(DomainError):
    """Validation that needs the database or the object's state, reported per field."""

    def __init__(
        self, fields: dict[str, list[str]], *, labelled: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__("invalid input")
        self.fields = fields
        # The same messages, each preceded by the name of its field in words, for people
        # ("Nom de naissance du patient : obligatoire pour envoyer"). An app that has a
        # catalogue of its fields fills it (liaison.catalogue); the keys stay machine keys.
        self.labelled = labelled or fields

    def readable(self) -> str:
        return " ".join(str(message) for messages in self.labelled.values() for message in messages)


class PermissionDenied(DomainError):
    """The object is visible to the caller, but the action is reserved to another role."""

    status_code = 403
    code = "permission_denied"
