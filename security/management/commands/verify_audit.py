"""`python manage.py verify_audit [--checkpoint FILE ...]`: has anyone tampered with the trail?

Run it from cron or CI against production; it exits non-zero on the first problem, naming
the first bad row (its chain when not shard 0, its sequence in that chain and its id); every
chain (AUDIT_SHARDS) is walked, so a monitoring job can alert on the exit status
alone. It needs AUDIT_KEYS: the seals can only be checked by whoever holds the key.

With `--checkpoint` (a checkpoint file written by `audit_checkpoint`, or a directory of
them; repeatable), each checkpoint's signature is checked and its (sequence, head) must
still be in the chain: that is what catches entries cut from the end after a checkpoint.

With `--list-actions`, it lists every action the trail may hold, with its French label (each
app declares its own, security/actions.py), then the names found in the trail that no app
declares (written by an older version, or recorded with AUDIT_STRICT_ACTIONS off), and
checks nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from security.actions import registered_actions
from security.audit import read_checkpoints, verify_chain
from security.audit_checkpoints import CheckpointError
from security.models import AuditEntry


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
        parser.add_argument(
            "--list-actions",
            action="store_true",
            help="List the declared audit actions with their labels, and the undeclared names "
            "found in the trail, instead of checking the chain.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list_actions"]:
            self.list_actions()
            return
        try:
            checkpoints = read_checkpoints(options["checkpoint"])
        except CheckpointError as error:
            raise CommandError(f"Untrusted checkpoint: {error}") from None
        if options["checkpoint"] and not checkpoints:
            raise CommandError("No checkpoint file found in the given directories.")
        result = verify_chain(checkpoints)
        if not result.ok:
            where = f"sequence {result.sequence}" if result.sequence is not None else "the head"
            if result.shard:
                where = f"shard {result.shard}, {where}"
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

    def list_actions(self) -> None:
        declared = registered_actions()
        width = max(len(spec.name) for spec in declared)
        for spec in declared:
            self.stdout.write(f"{spec.name:<{width}}  {spec.label}")
        names = {spec.name for spec in declared}
        found = AuditEntry.objects.order_by().values_list("action", flat=True).distinct()
        undeclared = sorted(set(found) - names)
        if undeclared:
            self.stdout.write(f"\nIn the trail but declared by no app ({len(undeclared)}):")
            for name in undeclared:
                self.stdout.write(f"{name:<{width}}  ?")
