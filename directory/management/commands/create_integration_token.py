"""`python manage.py create_integration_token <organisation> <name> --scope read ...`

Makes a scoped, long-lived API token for a hospital's system (see docs/security.md, "Jetons
d'API"), acting as a service account of the organisation. The token is printed once, on
stdout, for the operator to put in the system's configuration; only its hash is kept.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory import selectors, services
from directory.models import Organisation
from security import tokens
from security.exceptions import DomainError, FieldErrors, NotFound


class Command(BaseCommand):
    help = "Make a scoped API token for an organisation's system; print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organisation", help="Public id (UUID) or FINESS of the organisation.")
        parser.add_argument("name", help="The integration, e.g. « DPI Centre hospitalier ».")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            required=True,
            choices=list(tokens.INTEGRATION_SCOPES),
            help="Repeat for several scopes.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = self._organisation(options["organisation"])
        try:
            issued = services.create_integration_token(
                actor=None,  # the operator at the console: recorded as the system
                organisation=organisation,
                name=options["name"],
                scopes=options["scopes"],
            )
        except FieldErrors as exc:
            raise CommandError(exc.readable()) from None
        except (DomainError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        token = issued.token
        self.stderr.write(
            f"Token « {token.name} » ({', '.join(token.scopes)}) for {organisation.name}, "
            f"id {token.code}, valid until {token.expires_at:%Y-%m-%d}. Shown only once:"
        )
        self.stdout.write(issued.secret)

    def _organisation(self, reference: str) -> Organisation:
        """By public id, or by FINESS (what a hospital's IT team knows its site by)."""
        try:
            return selectors.access_organisation(None, UUID(reference))  # type: ignore[arg-type]
        except (ValueError, NotFound):
            pass
        found = selectors.organisations_visible_to(None).filter(finess=reference.upper()).first()
        if found is None:
            raise CommandError(f"No organisation with id or FINESS {reference!r}.")
        return found
