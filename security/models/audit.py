"""The append-only audit trail: who did what to which object, when, from where.

Entries form a chain sealed with a key (each stores the HMAC of the previous one and its own,
under a key that never lives in the database), so an edit, a deletion or a reordering made
behind the application's back, even by a database superuser, is detected by
`manage.py verify_audit`. Entries carry codes and action names, never clinical content or
patient identity.

Entries are appended by `security.audit.record` only. The model refuses updates and deletes
(`save()` of an existing row, `delete()`, `QuerySet.update/delete/bulk_update`); on
PostgreSQL a trigger (migration 0002) refuses them for any SQL client too.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _


class AppendOnlyViolation(RuntimeError):
    """Someone tried to change or remove an audit entry: a bug, never a user error."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnlyViolation(f"the audit trail is append-only: {what} is refused")


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk writes that would bypass the hash chain are refused."""

    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("update")

    def delete(self) -> NoReturn:
        _refuse("delete")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> NoReturn:
        _refuse("bulk_update")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> NoReturn:
        # Rows created in bulk would not be chained: record() is the only way in.
        _refuse("bulk_create")


class AuditEntry(models.Model):
    # Every index below is paid by every audited write (security.0007 dropped those that only
    # the admin's filters used): a new one needs a query of the code that cannot do without.
    # Time lookups use a BRIN index on PostgreSQL (migration 0007), almost free to maintain.
    created_at = models.DateTimeField(default=now)
    # No index of its own: entries are looked up by actor_code (the API, the admin), and
    # members are never deleted (deactivated instead), so the PROTECT check never runs.
    actor = models.ForeignKey(
        "directory.Member",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_code = models.UUIDField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_code = models.UUIDField(null=True, blank=True, db_index=True)
    ip = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=300, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    # Position in the chain, from 1, sealed with the entry: a row moved, removed or inserted
    # no longer sits at its sealed position. Null for the entries written before the audit
    # keys existed (see AUDIT_LEGACY_ENTRIES): their position is their rank.
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    # The chain the entry belongs to (settings.AUDIT_SHARDS chains, each with its own head);
    # sealed with the entry from shard 1 on. Entries written before the trail was sharded are
    # all in shard 0, whose seals stay what they were.
    shard = models.PositiveSmallIntegerField(default=0)
    # Id of the AUDIT_KEYS key that sealed the entry ("" before the audit keys existed).
    key_id = models.CharField(max_length=32, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    # Not unique, not indexed: nothing looks an entry up by its hash, and two entries with
    # one hash would need the same predecessor (prev_hash is unique) or an HMAC collision.
    hash = models.CharField(max_length=64)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("entrée d'audit")
        verbose_name_plural = _("journal d'audit")
        constraints = [
            # Two entries claiming the same predecessor would fork the chain. record() already
            # serialises appends on the chain head; this makes a fork impossible whatever the
            # code path or database.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_entry_unique_prev_hash"),
            # One entry per position in each chain; also the index of a chain's entries.
            models.UniqueConstraint(
                fields=["shard", "sequence"], name="audit_entry_unique_shard_sequence"
            ),
        ]
        indexes = [models.Index(fields=["shard", "id"], name="audit_entry_shard_id")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_type}:{self.target_code}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("changing a saved entry")
        # force_insert: a new object given an existing pk must fail, not overwrite that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")


class AuditChainHead(models.Model):
    """The head of one chain (shard), locked by every append to it, so that its entries chain
    in a single line. The head of shard `s` has the primary key `s + 1` (security.audit)."""

    last_entry_id = models.BigIntegerField(null=True, blank=True)
    last_hash = models.CharField(max_length=64, blank=True, default="")
    last_sequence = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit head of shard {self.shard} at #{self.last_entry_id}"

    @property
    def shard(self) -> int:
        return self.pk - 1
