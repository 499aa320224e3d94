"""API tokens: named, expiring, revocable, and stored only as a hash.

The secret is shown once, when the token is made; the database keeps its SHA-256 digest (to
find the token from the `Authorization` header) and a short prefix in clear (so that a person
can tell their tokens apart in a list). A database dump therefore holds no usable token.

Writes go through `security.tokens` only (issue, touch, revoke).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personnel")
        INTEGRATION = "integration", _("Intégration")

    class RevokedReason(models.TextChoices):
        OWNER = "owner", _("Révoqué par son titulaire")
        ADMIN = "admin", _("Révoqué par la coordination")
        LOGOUT = "logout", _("Déconnexion de la session qui l'a créé")
        PASSWORD_CHANGED = "password_changed", _("Mot de passe changé")
        DEACTIVATED = "deactivated", _("Compte désactivé")
        TWO_FACTOR_RESET = "two_factor_reset", _("Double authentification réinitialisée")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSONAL)
    name = models.CharField(_("nom"), max_length=100)
    # The first characters of the secret, to recognise a token in a list; never enough to use.
    prefix = models.CharField(max_length=16)
    # SHA-256 of the whole secret: the secret has 256 bits of entropy, so a fast hash is
    # enough (no dictionary to try) and keeps the lookup a single indexed query.
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, blank=True)
    # Whether the second factor was checked when the token was made: a token made without it
    # stops working once two-factor authentication becomes mandatory for the account.
    issued_with_2fa = models.BooleanField(default=False)
    # SHA-256 of the password hash at issue time: any password change, by any path (API,
    # admin site, `changepassword`), makes it differ, and the token dies.
    password_fingerprint = models.CharField(max_length=64)
    # SHA-256 of the web session key the token was made from, when it is bound to that
    # session: logging out of that session revokes it.
    session_digest = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_by = models.ForeignKey(
        "directory.Member", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    # Updated at most once a minute (security.tokens.TOUCH_INTERVAL), not on every request.
    last_used_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    idle_timeout = models.DurationField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(
        max_length=32, choices=RevokedReason.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("jeton d'API")
        verbose_name_plural = _("jetons d'API")
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_user_revoked")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def idle_deadline(self) -> datetime | None:
        return self.last_used_at + self.idle_timeout if self.idle_timeout else None

    def is_expired(self, at: datetime) -> bool:
        idle_deadline = self.idle_deadline()
        return at >= self.expires_at or (idle_deadline is not None and at >= idle_deadline)
