"""The worker's imports go one way: tasks → dispatch → services → publishing.

A cycle (tasks → dispatch → services → tasks) used to work only because some imports hid
inside functions; these tests keep every worker import at module level and the services
away from the tasks, which they reach by name (worker.publishing).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from worker.publishing import DELIVER_NOTIFICATION
from worker.tasks import deliver_notification

WORKER = Path(__file__).resolve().parents[2] / "worker"
PROJECT = ("config", "directory", "security", "worker", "liaison", "protocols", "messaging")
MODULES = sorted(path for path in WORKER.glob("*.py"))


def imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return []


def function_level_imports(tree: ast.Module) -> list[str]:
    found = []
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                found += [name for name in imported_modules(node) if name.split(".")[0] in PROJECT]
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_worker_modules_import_the_project_at_module_level_only(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert function_level_imports(tree) == [], f"{path.name}: import at the top of the module"


@pytest.mark.parametrize("name", ["services", "dispatch", "publishing", "selectors", "emails"])
def test_the_services_never_import_the_tasks(name: str) -> None:
    tree = ast.parse((WORKER / f"{name}.py").read_text())
    imported = [module for node in ast.walk(tree) for module in imported_modules(node)]
    assert [module for module in imported if module.startswith("worker.tasks")] == []


def test_the_delivery_task_is_registered_under_the_name_the_services_publish() -> None:
    assert deliver_notification.name == DELIVER_NOTIFICATION
