"""House rules that a reviewer would otherwise have to remember."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["directory", "liaison", "protocols", "messaging", "security", "worker"]
INTERFACES = [
    path
    for app in APPS
    for name in ("apis.py", "views.py", "tasks.py")
    if (path := ROOT / app / name).exists()
]


@pytest.mark.parametrize("path", INTERFACES, ids=lambda p: str(p.relative_to(ROOT)))
def test_interfaces_do_not_touch_the_orm(path: Path) -> None:
    """Views, APIs and tasks go through selectors and services, never the ORM directly."""
    source = path.read_text()
    assert ".objects." not in source, f"{path}: go through a selector or a service"
    assert ".save(" not in source, f"{path}: go through a service"


def test_the_interfaces_list_is_not_empty() -> None:
    assert len(INTERFACES) >= 3
