"""`python manage.py reset_two_factor <username>`: for a member who lost both phone and codes.

Removes the account's authenticator app and recovery codes and revokes every API token of
the account; the member enrols a new app at their next login. Check who is asking out of
band first: this is the way around the second factor.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from security.two_factor import reset_two_factor


class Command(BaseCommand):
    help = "Remove a user's second factor and revoke their API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model()._default_manager.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No account named {options['username']!r}.")
        reset_two_factor(user, actor=None)
        self.stdout.write(self.style.SUCCESS(f"Second factor and API tokens of {user} removed."))
