"""`python manage.py load_demo`: the fictional CPTS, idempotently (safe to run at every start)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sized
from typing import Any

from django.apps import AppConfig, apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from directory.demo import MEMBERS, load_directory
from directory.models import Member

DemoLoader = Callable[[dict[str, Member]], "int | Sized"]


def demo_loaders() -> list[tuple[AppConfig, DemoLoader]]:
    """Each app's demo loader, in INSTALLED_APPS order.

    An app registers one by naming it on its AppConfig (`demo_loader = "app.demo.load_x"`):
    the directory, the ground floor, then needs to know none of the apps built on it. The
    order is INSTALLED_APPS's, so an app whose demo refers to another's (messaging's
    conversations about liaison sheets) is listed after it.
    """
    return [
        (config, import_string(loader))
        for config in apps.get_app_configs()
        if (loader := getattr(config, "demo_loader", None))
    ]


class Command(BaseCommand):
    help = "Load the demo CPTS (organisations, members). Password: DEMO_PASSWORD or 'demo'."

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or "demo"
        members = load_directory(password=password)
        created = []
        for config, load in demo_loaders():
            result = load(members)
            count = result if isinstance(result, int) else len(result)
            created.append(f"{config.label} {count}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo CPTS ready: {len(members)} members; new: " + ", ".join(created) + "."
            )
        )
        self.stdout.write("Logins: " + ", ".join(spec.username for spec in MEMBERS))
