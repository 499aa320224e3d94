"""`python manage.py audit_checkpoint [--print] [--dir DIR]`: sign where the audit chain stands.

Writes a checkpoint (sequence, head hash, time, signed with AUDIT_CHECKPOINT_SIGNING_KEY) to
a new file of AUDIT_CHECKPOINT_DIR, or prints it with --print so that it can be piped
somewhere the database's administrators cannot reach (a mail to the auditor, write-once
storage). Celery beat runs the same every hour (worker.tasks.write_audit_checkpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from security.audit import AuditTrailBroken, take_checkpoint, write_checkpoint


class Command(BaseCommand):
    help = "Write a signed checkpoint of the audit chain's head (outside the database)."

    def add_arguments(self, parser: CommandParser) -> None:
        # Not "--stdout": call_command() passes its own `stdout` through the same options.
        parser.add_argument(
            "--print",
            action="store_true",
            dest="print_only",
            help="Print the checkpoint instead of writing a file.",
        )
        parser.add_argument(
            "--dir", type=Path, default=None, help="Directory (default: AUDIT_CHECKPOINT_DIR)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["print_only"]:
                self.stdout.write(take_checkpoint().to_json(), ending="")
                return
            checkpoint, path = write_checkpoint(options["dir"])
        except AuditTrailBroken as error:
            raise CommandError(f"{error}. Run `manage.py verify_audit`.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint at sequence {checkpoint.sequence} (entry #{checkpoint.entry_id}) "
                f"written to {path}."
            )
        )
