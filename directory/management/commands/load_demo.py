"""`python manage.py load_demo`: the fictional CPTS, idempotently (safe to run at every start)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand

from directory.demo import MEMBERS, load_directory
from liaison.demo import load_sheets
from messaging.demo import load_conversations
from protocols.demo import load_protocols
from worker.demo import load_notifications


class Command(BaseCommand):
    help = "Load the demo CPTS (organisations, members). Password: DEMO_PASSWORD or 'demo'."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or "demo"
        members = load_directory(password=password)
        sheets = load_sheets(members)
        conversations = load_conversations(members)
        load_notifications(members)
        protocols = load_protocols(members)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo CPTS ready: {len(members)} members; new: {sheets} liaison sheets, "
                f"{conversations} conversations, {protocols} protocols."
            )
        )
        self.stdout.write("Logins: " + ", ".join(spec.username for spec in MEMBERS))
