"""`python manage.py verify_audit [--checkpoint FILE ...]`: has anyone tampered with the trail?

Run it from cron or CI against production; it exits non-zero on the first problem, naming
the first bad row (its sequence and id), so a monitoring job can alert on the exit status
alone. It needs AUDIT_KEYS: the seals can only be checked by whoever holds the key.

With `--checkpoint` (a checkpoint file written by `audit_checkpoint`, or a directory of
them; repeatable), each checkpoint's signature is checked and its (sequence, head) must
still be in the chain: that is what catches entries cut from the end after a checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from security.audit import read_checkpoints, verify_chain
from security.audit_checkpoints import CheckpointError


class Command(BaseCommand):
    help = (
        "Walk the audit chain and check every seal (AUDIT_KEYS), and each given checkpoint; "
        "print OK with the count, or the first bad row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            action="append",
            type=Path,
            default=[],
            metavar="FILE",
            help="A checkpoint file (or a directory of them) that must still be in the chain; "
            "repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoints = read_checkpoints(options["checkpoint"])
        except CheckpointError as error:
            raise CommandError(f"Untrusted checkpoint: {error}") from None
        if options["checkpoint"] and not checkpoints:
            raise CommandError("No checkpoint file found in the given directories.")
        result = verify_chain(checkpoints)
        if not result.ok:
            where = f"sequence {result.sequence}" if result.sequence is not None else "the head"
            row = f"entry #{result.entry_id}" if result.entry_id is not None else "missing row"
            raise CommandError(
                f"Audit trail broken at {where} ({row}): {result.problem} "
                f"({result.entries} entries read)."
            )
        details = []
        if result.legacy_entries:
            details.append(
                f"{result.legacy_entries} written before the audit keys, checked unkeyed"
            )
        if checkpoints:
            latest = max(checkpoints, key=lambda checkpoint: checkpoint.sequence)
            details.append(
                f"{result.checkpoints} checkpoint(s) found in the chain, the latest at "
                f"sequence {latest.sequence}"
            )
        suffix = f" ({'; '.join(details)})" if details else ""
        self.stdout.write(
            self.style.SUCCESS(f"OK: {result.entries} audit entries, chain intact{suffix}.")
        )
