"""`manage.py import_directory FILE [--as USERNAME] [--apply] [--skip-invalid]`.

A dry run unless --apply: each row is listed with why it would be rejected. With --as, the
acting account must belong to the CPTS coordination, as on the web page and the API;
without it, the import acts as the system (its audit entries carry no actor), as befits an
operator who has the server in hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.importer import import_directory
from directory.selectors import active_member_named
from security.exceptions import DomainError, FieldErrors


class Command(BaseCommand):
    help = "Import organisations and members from a CSV file (dry run unless --apply)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--as", dest="username", help="A coordinator's login (default: the system)."
        )
        parser.add_argument("--apply", action="store_true", help="Import for real.")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows even when others are rejected.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        member = None
        if options["username"]:
            member = active_member_named(options["username"])
            if member is None:
                raise CommandError(f"no active member named {options['username']!r}")
        try:
            with options["file"].open("rb") as fileobj:
                report = import_directory(
                    actor=member,
                    fileobj=fileobj,
                    dry_run=not options["apply"],
                    skip_invalid=options["skip_invalid"],
                )
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except FieldErrors as exc:
            raise CommandError(exc.readable()) from exc
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        for row in report.rows:
            if row.status == "ok":
                self.stdout.write(f"line {row.line}: ok ({row.kind} {row.label})")
            else:
                self.stdout.write(
                    f"line {row.line}: REJECTED ({row.kind} {row.label}): " + "; ".join(row.errors)
                )
        summary = (
            f"{report.organisations_created} organisation(s), {report.members_created} member(s), "
            f"{len(report.rejected)} rejected row(s)"
        )
        if report.dry_run:
            self.stdout.write(f"Dry run, nothing imported: {summary}. Use --apply to import.")
        elif report.imported:
            self.stdout.write(self.style.SUCCESS(f"Imported: {summary}."))
        else:
            self.stdout.write(self.style.ERROR(f"Nothing imported: {summary}."))
            if report.rejected:
                raise CommandError("rejected rows: fix them or use --skip-invalid")
