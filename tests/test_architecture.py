"""House rules that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["directory", "liaison", "protocols", "messaging", "security", "worker", "events"]
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


# --- Import direction ---------------------------------------------------------------------
#
# The floors, from the ground up (README "Layout"): each may import the floors below it and
# nothing above or beside it, so that a request goes down once and comes back.
#
#   security           crypto, audit, tokens, second factor: imports no app
#   directory          members, organisations, the coordination; the account's interfaces
#   patients, worker   the patient identity; the outbox and the jobs
#   events             the agenda of the CPTS (meetings, the annual day, their indicators)
#   liaison, protocols, messaging    the clinical apps, side by side
#
# Imports are read from the syntax tree, at module level and inside functions alike (an
# import inside a function is still a dependency, only a later one). `config` is the
# project's wiring, not a floor.
FLOORS: dict[str, set[str]] = {
    "security": set(),
    "directory": {"security"},
    "patients": {"security", "directory"},
    "worker": {"security", "directory"},
    "events": {"security", "directory", "patients", "worker"},
    "liaison": {"security", "directory", "patients", "worker", "events"},
    "protocols": {"security", "directory", "patients", "worker"},
    "messaging": {"security", "directory", "patients", "worker", "liaison"},
}
# What an app uses of an app beside it, name by name: public selectors and services only,
# never their helpers, documents or serializers (what two apps share moves down a floor, as
# the patient identity did to `patients` and the member references to `directory`). A new
# use is added here, where a reviewer sees it. Models may be named in annotations only
# (under TYPE_CHECKING): a sheet is reached through liaison's access rules.
PEER_USES: dict[tuple[str, str], dict[str, set[str]]] = {
    # The coordinator's indicators page (liaison/outputs) shows the agenda's indicators.
    ("liaison", "events"): {"events.indicators": {"event_indicators", "event_csv_rows"}},
    ("messaging", "liaison"): {
        "liaison.selectors": {"access_sheet", "identity_lookup", "sheets_visible_to"},
    },
}
TYPE_ONLY: dict[tuple[str, str], tuple[str, ...]] = {
    ("messaging", "liaison"): ("liaison.models",),
}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    target: str  # the module imported, or the module a name is imported from
    name: str  # the name imported from it ("" for `import x.y`)
    type_only: bool  # under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        what = f"from {self.target} import {self.name}" if self.name else f"import {self.target}"
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}: {what}"


def _is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, *, package: str | None = None) -> list[Import]:
    """Every import in `path` (a module of `package`), resolved to absolute module names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = _type_checking_lines(tree)
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                Import(path, node.lineno, alias.name, "", node.lineno in type_only)
                for alias in node.names
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([module] if module else [])])
            for alias in node.names:
                # `from liaison import selectors` imports the module liaison.selectors.
                submodule = f"{module}.{alias.name}"
                target, name = (submodule, "") if _is_module(submodule) else (module, alias.name)
                found.append(Import(path, node.lineno, target, name, node.lineno in type_only))
    return found


def _modules_of(app: str) -> list[Path]:
    return sorted(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def _allowed(app: str, imported: Import) -> bool:
    floor = imported.target.split(".")[0]
    if floor == app or floor not in FLOORS:  # itself, Django, libraries, config
        return True
    if floor not in FLOORS[app]:
        return False
    uses = PEER_USES.get((app, floor))
    if uses is None:  # a floor below
        return True
    if imported.type_only and imported.target.startswith(TYPE_ONLY.get((app, floor), ())):
        return True
    return imported.name in uses.get(imported.target, set())


@pytest.mark.parametrize("app", FLOORS)
def test_each_floor_imports_only_the_floors_below(app: str) -> None:
    wrong = [
        str(imported)
        for path in _modules_of(app)
        for imported in imports_of(path)
        if not _allowed(app, imported)
    ]
    allowed = ", ".join(sorted(FLOORS[app])) or "no app"
    assert not wrong, f"{app} may import {allowed} only:\n" + "\n".join(wrong)


@pytest.mark.parametrize("app", FLOORS)
def test_no_project_code_imports_the_tests(app: str) -> None:
    wrong = [
        str(imported)
        for path in _modules_of(app)
        for imported in imports_of(path)
        if imported.target.split(".")[0] == "tests"
    ]
    assert not wrong, "\n".join(wrong)


def test_every_app_is_on_a_floor() -> None:
    """A new app must say where it stands before its imports can be checked."""
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"config", "tests", "bench", "docs"}
    }
    assert packages == set(FLOORS)


def test_the_import_reader_sees_imports_inside_functions_and_type_checking(
    tmp_path: Path,
) -> None:
    """The reader itself: a late import counts, a TYPE_CHECKING one is told apart."""
    module = tmp_path / "probe.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from liaison.models import LiaisonSheet\n"
        "def later():\n"
        "    from liaison.selectors import access_sheet\n"
        "    from liaison.services import drafts\n"
        "    from liaison.documents import CONTENT_KEYS\n"
        "    from liaison.selectors import _with_relations\n"
    )
    found = {
        (i.target, i.name, i.type_only, _allowed("messaging", i))
        for i in imports_of(module, package="messaging")
    }
    assert ("liaison.models", "LiaisonSheet", True, True) in found
    assert ("liaison.selectors", "access_sheet", False, True) in found
    assert ("liaison.services.drafts", "", False, False) in found
    assert ("liaison.documents", "CONTENT_KEYS", False, False) in found
    assert ("liaison.selectors", "_with_relations", False, False) in found


@pytest.mark.parametrize(
    "app", ["directory", "liaison", "messaging", "protocols", "security", "worker"]
)
def test_sub_areas_keep_their_endpoints_inside_their_package(app: str) -> None:
    """A sub-area is a sub-package with its own apis/views/urls (liaison/outputs/,
    protocols/guide/), not prefixed files beside the app's (`output_apis.py`)."""
    prefixed = sorted(
        path.name
        for pattern in ("*_apis.py", "*_views.py", "*_urls.py")
        for path in (ROOT / app).glob(pattern)
    )
    assert prefixed == [], f"{app}: move {prefixed} into the sub-area's package"
