"""How many encryptions each key has done: the nonce budget survives restarts."""

from __future__ import annotations

from django.db import models


class KeyUsage(models.Model):
    """Encryptions reserved under one key id, across every process (NIST SP 800-38D budget)."""

    key_id = models.CharField(max_length=32, unique=True)
    encryptions = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key_id}: {self.encryptions}"
