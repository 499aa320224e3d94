"""Benchmarks that cannot rot: every bench/*.py script runs in `make test`, in its smoke mode.

A script is found by its file name: each must have a `--smoke` flag, and its `--smoke` run
(tiny sizes, in seconds to a minute or two on a loaded machine) must finish, print its
Markdown table and leave docs/benchmarks.md alone. So an import error, a renamed
helper or a changed signature fails CI instead of waiting for the next manual run.

Each runs in a subprocess, as from the shell (no DJANGO_SETTINGS_MODULE inherited from the
tests), with the environment's DATABASE_URL and REDIS_URL: PostgreSQL and Redis in CI, the
scripts' own fallbacks (SQLite, a private redis-server) elsewhere. A script that needs a
service this machine lacks is skipped, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Modules the scripts import, not scripts: checked by importing them.
HELPERS = frozenset(
    {"liaison_cpu.py", "machine_cpu.py", "notification_probe.py", "report.py", "stack.py"}
)
SCRIPTS = sorted(path.name for path in BENCH.glob("*.py") if path.name not in HELPERS)
# Slow runners and a machine shared by many: generous, but a hung script still fails.
SMOKE_TIMEOUT = 600
IN_CI = os.environ.get("CI", "").lower() == "true"


def run(
    *args: str, timeout: float, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tail(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"


def missing_service(script: str) -> str:
    """What `script`'s smoke run needs and this machine lacks, or ""."""
    if script == "notifications.py" and not (
        os.environ.get("REDIS_URL") or shutil.which("redis-server")
    ):
        return "neither REDIS_URL nor a redis-server to start"
    return ""


def uses_the_demo(script: str) -> bool:
    return "stack.demo_in_process(" in (BENCH / script).read_text()


@pytest.fixture(scope="session")
def demo_template(pytestconfig: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment that lets a smoke run copy a demo database instead of migrating and
    loading one (bench.stack.DEMO_TEMPLATE): built once per test run, by whichever pytest-xdist
    worker needs it first, and the keys its rows were written with."""
    from bench import stack

    base = tmp_path_factory.getbasetemp()
    run_directory = base.parent if hasattr(pytestconfig, "workerinput") else base
    ready = run_directory / "bench-demo-template.json"
    with (run_directory / "bench-demo-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for the first one's build
        if not ready.exists():
            checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]  # noqa: S324
            url = stack.smoke_database_url(f"cpts_bench_template_{checkout}")
            keys = stack.build_demo_template(url)
            ready.write_text(json.dumps({stack.DEMO_TEMPLATE: url, **keys}))
        return json.loads(ready.read_text())


def test_the_scripts_are_found() -> None:
    assert {"audit.py", "crypto.py", "notifications.py", "subject_search.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("helper", sorted(HELPERS))
def test_a_helper_module_imports(helper: str) -> None:
    result = run("-c", f"import bench.{helper.removesuffix('.py')}", timeout=120)

    assert result.returncode == 0, tail(result)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_runs_its_smoke_mode_and_prints_its_table(
    script: str, request: pytest.FixtureRequest
) -> None:
    lacking = missing_service(script)
    if lacking:
        if IN_CI:
            pytest.fail(f"bench/{script} --smoke cannot run in CI: {lacking}")
        pytest.skip(f"bench/{script} --smoke: {lacking}")
    benchmarks = ROOT / "docs" / "benchmarks.md"
    before = hashlib.sha256(benchmarks.read_bytes()).hexdigest()

    template = request.getfixturevalue("demo_template") if uses_the_demo(script) else {}

    result = run(f"bench/{script}", "--smoke", timeout=SMOKE_TIMEOUT, extra_env=template)

    assert "unrecognized arguments: --smoke" not in result.stderr, (
        f"bench/{script} has no --smoke mode: every benchmark script needs one, so that "
        "`make test` runs it (see tests/test_bench_smoke.py)"
    )
    assert result.returncode == 0, tail(result)
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert any(set(line) <= set("|-: ") for line in table_rows), (
        f"bench/{script} --smoke printed no Markdown table\n{tail(result)}"
    )
    assert len(table_rows) >= 3, tail(result)  # a header, its rule and at least one row
    assert hashlib.sha256(benchmarks.read_bytes()).hexdigest() == before, (
        f"bench/{script} --smoke changed docs/benchmarks.md: a smoke run writes nothing"
    )
