"""The append-only audit trail: who did what to which object, when, from where.

Entries form a hash chain (each stores the hash of the previous one), so an edit or a
deletion made behind the application's back is detected by `manage.py verify_audit`.
Entries carry codes and action names, never clinical content or patient identity.
"""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    created_at = models.DateTimeField(default=now, db_index=True)
    actor = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_code = models.UUIDField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_code = models.UUIDField(null=True, blank=True, db_index=True)
    ip = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("entrée d'audit")
        verbose_name_plural = _("journal d'audit")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_code}"


class AuditChainHead(models.Model):
    """One row locked by every append, so that entries chain in a single line."""

    last_entry_id = models.BigIntegerField(null=True, blank=True)
    last_hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"audit head at #{self.last_entry_id}"
