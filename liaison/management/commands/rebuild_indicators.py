"""`python manage.py rebuild_indicators [--verify]`: recompute the indicators' aggregates.

The aggregates (liaison.outputs.aggregates) follow every transition in its transaction; this
recomputes them from the sheets, for a first deployment, after data was loaded or edited
outside the services (an import, a fix in the database), or after an organisation moved to
another parent. With `--verify`, it then compares the table for the whole CPTS and for each
organisation, every month since the first sheet and the period's total, with the table
computed from the sheets, and exits non-zero naming the first differences; with
`--verify --no-rebuild`, it checks the aggregates as the transitions left them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from directory.models import Organisation
from liaison.models import LiaisonSheet
from liaison.outputs import aggregates
from liaison.outputs.indicators import differences_from_the_sheets


class Command(BaseCommand):
    help = "Recompute the indicators' monthly aggregates from the sheets (--verify: and check)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--verify",
            action="store_true",
            help="Compare every table with the one computed from the sheets.",
        )
        parser.add_argument(
            "--no-rebuild",
            action="store_true",
            help="Only compare (with --verify): check the aggregates as they are.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_rebuild"]:
            cells = aggregates.rebuild()
            self.stdout.write(f"{cells} cells rebuilt.")
        if not options["verify"]:
            return
        moment = timezone.now()
        sent = LiaisonSheet.objects.filter(sent_at__isnull=False).order_by("sent_at")
        first = sent.values_list("sent_at", flat=True).first()
        if first is None:
            self.stdout.write("OK: no sheet sent.")
            return
        start = timezone.localtime(first).date().replace(day=1)
        organisations: list[Organisation | None] = [None, *Organisation.objects.order_by("pk")]
        found = differences_from_the_sheets(
            start=start, end=timezone.localdate(), organisations=organisations, moment=moment
        )
        if found:
            raise CommandError("\n".join([f"{len(found)} differences:", *found[:20]]))
        self.stdout.write(f"OK: {len(organisations)} tables agree with the sheets.")
