"""`python manage.py rotate_keys`: re-encrypt everything under the primary key."""

from __future__ import annotations

from argparse import ArgumentParser, RawDescriptionHelpFormatter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from security.rotation import DEFAULT_BATCH_SIZE, rotate_keys


class Command(BaseCommand):
    help = """Re-encrypt every encrypted value and file under the primary (first) key.

Rotating a key:
  1. generate one with `python -m security.crypto` and put it FIRST in ENCRYPTION_KEYS,
     keeping the old keys after it;
  2. restart web, worker and beat, so that every new write uses it;
  3. run this command (safe while the service runs; run it again after an interruption:
     it skips what is already done) until it reports no failure;
  4. remove the old key from ENCRYPTION_KEYS and restart.
"""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter  # keep the numbered steps
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"rows per transaction (default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count what would be re-encrypted and check it decrypts; write nothing",
        )

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        report = rotate_keys(batch_size=batch_size, dry_run=dry_run)
        verb = "to re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(
            f"Primary key: {report.primary_key_id}"
            + (" (dry run, nothing written)" if dry_run else "")
        )
        for model in report.models:
            self.stdout.write(
                f"{model.model}: {model.values_rotated} values and {model.files_rotated} files "
                f"{verb}, {model.already_current} already current, "
                f"{model.conflicts} left to concurrent edits, {len(model.failures)} failures"
            )
        if report.conflicts:
            self.stdout.write(
                "Rows edited during the run kept their edit (written under the primary key "
                "by an up-to-date process); run the command again to confirm."
            )
        if report.failures:
            for failure in report.failures:
                self.stderr.write(failure)
            raise CommandError(
                f"{len(report.failures)} values or files could not be decrypted and were left "
                "untouched: do not remove any key before investigating them."
            )
        self.stdout.write(self.style.SUCCESS("Done."))
