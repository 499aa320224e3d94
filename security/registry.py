"""A registry that each app fills from a module of its own, read on first use.

The audit action names (`<app>/actions.py`, security.actions) and the notification events
(`<app>/events.py`, worker.events) are both declared this way: the ground floor owns the
registry, the apps above declare into it, and nobody below imports anybody above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

Spec = TypeVar("Spec")


class Registry(Generic[Spec]):
    """Specs by name, completed by importing every installed app's `module` once."""

    def __init__(self, module: str, *, what: str, name_of: Callable[[Spec], str]) -> None:
        self.module = module
        self.what = what  # for error messages: "audit action", "notification event"
        self.name_of = name_of
        self._specs: dict[str, Spec] = {}
        self._discovered = False

    def declare(self, spec: Spec) -> Spec:
        """Add a spec; the same one twice is harmless (a module imported again)."""
        name = self.name_of(spec)
        existing = self._specs.get(name)
        if existing is not None and existing != spec:
            raise ImproperlyConfigured(f"{self.what} {name!r} is declared twice, differently")
        self._specs[name] = spec
        return spec

    def get(self, name: str) -> Spec | None:
        self._discover()
        return self._specs.get(name)

    def all(self) -> list[Spec]:
        """Every spec, in name order."""
        self._discover()
        return [self._specs[name] for name in sorted(self._specs)]

    def _discover(self) -> None:
        if self._discovered or not apps.ready:
            return
        self._discovered = True  # before importing: a module that reads us must not recurse
        try:
            autodiscover_modules(self.module)
        except Exception:
            self._discovered = False  # fail again, loudly, on the next read: never half-filled
            raise
