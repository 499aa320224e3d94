"""House rules that a reviewer would otherwise have to remember."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["directory", "liaison", "protocols", "messaging", "security", "worker"]
# Every module that answers a request or runs a job, wherever it sits in the app
# (liaison/outputs/apis.py, protocols/guide/views.py...), so a new one cannot slip past.
INTERFACES = sorted(
    path
    for app in APPS
    for pattern in ("**/*apis.py", "**/*views.py", "**/tasks.py")
    for path in (ROOT / app).glob(pattern)
    if "migrations" not in path.parts
)


@pytest.mark.parametrize("path", INTERFACES, ids=lambda p: str(p.relative_to(ROOT)))
def test_interfaces_do_not_touch_the_orm(path: Path) -> None:
    """Views, APIs and tasks go through selectors and services, never the ORM directly."""
    source = path.read_text()
    assert ".objects." not in source, f"{path}: go through a selector or a service"
    assert ".save(" not in source, f"{path}: go through a service"


def test_the_interfaces_list_is_not_empty() -> None:
    assert ROOT / "liaison" / "outputs" / "apis.py" in INTERFACES
    assert len(INTERFACES) >= 10


@pytest.mark.parametrize("app", ["directory", "liaison", "messaging", "protocols", "worker"])
def test_sub_areas_keep_their_endpoints_inside_their_package(app: str) -> None:
    """A sub-area is a sub-package with its own apis/views/urls (liaison/outputs/,
    protocols/guide/), not prefixed files beside the app's (`output_apis.py`)."""
    prefixed = sorted(
        path.name
        for pattern in ("*_apis.py", "*_views.py", "*_urls.py")
        for path in (ROOT / app).glob(pattern)
    )
    assert prefixed == [], f"{app}: move {prefixed} into the sub-area's package"
