"""`python manage.py verify_audit`: check that nobody edited or removed audit entries.

Run it from cron or CI against production; it exits non-zero on the first broken link,
so a monitoring job can alert on the exit status alone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from security.audit import verify_chain


class Command(BaseCommand):
    help = "Walk the audit hash chain; print OK with the count, or the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit trail broken at entry #{result.entry_id}: {result.problem} "
                f"({result.entries} entries read)."
            )
        self.stdout.write(self.style.SUCCESS(f"OK: {result.entries} audit entries, chain intact."))
