"""Queries and CPU per liaison operation, in one process through Django's test client.

Used by bench/liaison.py (its profile and quick modes): no server, so the figures are the
request's own work (Django, DRF, encryption, audit) without HTTP or scheduling noise. On
SQLite the database engine runs in this process and its time is included; on PostgreSQL
(DATABASE_URL) the server's side is not.

Runs in a Django subprocess with the test settings (fixed throwaway keys, local-memory
cache) on a test database created from the models and dropped at the end.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

OPERATIONS = ("ping", "create", "patch", "send", "inbox", "receive", "accept")


def run(*, repeat: int, top: int = 0, database_url: str = "") -> dict[str, Any]:
    """Measure each operation `repeat` times in a subprocess; its JSON result."""
    import subprocess  # noqa: PLC0415

    var_dir = tempfile.mkdtemp(prefix="bench-liaison-cpu-")
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    # No Redis: notifications go to a spool directory nobody reads, removed with var_dir.
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", VAR_DIR=var_dir, LOG_LEVEL="ERROR")
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    code = f"from bench.liaison_cpu import _main; _main({repeat}, {top})"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as failed:
        sys.stderr.write(failed.stdout + failed.stderr)
        raise
    finally:
        import shutil  # noqa: PLC0415

        shutil.rmtree(var_dir, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    result["profile_text"] = "\n".join(lines[:-1])
    return result


def _main(repeat: int, top: int) -> None:
    import django  # noqa: PLC0415

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import setup_test_environment  # noqa: PLC0415

    setup_test_environment()
    (Path(settings.VAR_DIR) / "celery-spool" / "queue").mkdir(parents=True, exist_ok=True)
    (Path(settings.VAR_DIR) / "celery-spool" / "processed").mkdir(parents=True, exist_ok=True)
    if connection.vendor == "sqlite":
        # In memory: no file to sync at each commit (PostgreSQL syncs its own, as deployed).
        settings.DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    settings.DATABASES["default"].setdefault("TEST", {})["MIGRATE"] = False
    old_name = settings.DATABASES["default"]["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        result = _measure(repeat, top)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(json.dumps(result))


def _measure(repeat: int, top: int) -> dict[str, Any]:
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415
    from rest_framework.test import APIClient  # noqa: PLC0415

    from directory.demo import load_directory  # noqa: PLC0415
    from directory.models import Organisation  # noqa: PLC0415
    from directory.services import issue_api_token  # noqa: PLC0415

    people = load_directory(password="demo")
    service = str(Organisation.objects.get(name="Cardiologie").code)

    def client(username: str) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {issue_api_token(user=people[username].user)}")
        return api

    gp, cardio = client("dr.martin"), client("hop.cardio")
    gp.default_format = cardio.default_format = "json"
    api = "/api/v1/liaison-sheets/"
    cpu: dict[str, list[float]] = {name: [] for name in OPERATIONS}
    queries: dict[str, int] = {}
    profiles = {name: cProfile.Profile(time.process_time) for name in OPERATIONS}

    def timed(name: str, call: Any, expected: int) -> Any:
        profiler = profiles[name] if top else None
        with CaptureQueriesContext(connection) as captured:
            started = time.process_time()
            if profiler:
                profiler.enable()
            response = call()
            if profiler:
                profiler.disable()
            cpu[name].append(time.process_time() - started)
        assert response.status_code == expected, (name, response.status_code, response.content)
        queries[name] = len(captured.captured_queries)
        if os.environ.get("BENCH_SQL"):
            print(f"==== {name}")
            for query in captured.captured_queries:
                print("   ", query["sql"][:230])
        return response

    for index in range(repeat + 1):  # the first round warms the caches up, and is dropped
        if index == 1:
            cpu = {name: [] for name in OPERATIONS}
            profiles = {name: cProfile.Profile(time.process_time) for name in OPERATIONS}
        timed("ping", lambda: gp.get("/api/v1/ping/"), 200)
        body = _referral(service, index)
        key = uuid.uuid4().hex
        created = timed(
            "create",
            lambda body=body, key=key: gp.post(api, body, format="json", HTTP_IDEMPOTENCY_KEY=key),
            201,
        ).json()
        sheet = f"{api}{created['id']}/"
        timed(
            "patch",
            lambda sheet=sheet, v=created["version"]: gp.patch(
                sheet, {"reason": "Bilan, dyspnée"}, format="json", HTTP_IF_MATCH=f'"{v}"'
            ),
            200,
        )
        timed("send", lambda sheet=sheet: gp.post(f"{sheet}send/"), 200)
        timed("inbox", lambda: cardio.get(f"{api}?box=inbox&status=sent&page_size=20"), 200)
        timed(
            "receive", lambda sheet=sheet: cardio.post(f"{sheet}receive/", {}, format="json"), 200
        )
        timed(
            "accept",
            lambda sheet=sheet: cardio.post(
                f"{sheet}accept/", {"planned_date": "2026-12-01"}, format="json"
            ),
            200,
        )
    if top:
        for name in OPERATIONS:
            print(f"==== {name}: {repeat} calls, by own time")
            stats = pstats.Stats(profiles[name], stream=sys.stdout)
            stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime")).print_stats(top)
    return {
        "vendor": connection.vendor,
        "queries": queries,
        "cpu_ms": {name: sorted(values)[len(values) // 2] * 1000 for name, values in cpu.items()},
    }


def _referral(service: str, index: int) -> dict[str, Any]:
    """A complete referral (every section the send requires), copying nobody."""
    return {
        "kind": "referral",
        "patient": {"identity_status": "PROV", "birth_family_name": f"Patient{index}",
                    "given_names": "Test", "birth_date": "1950-01-01", "sex": "F"},
        "recipient_organisation": service, "urgency": "routine", "entry_mode": "scheduled",
        "reason": "Bilan", "medications_none": True, "allergies_none_known": True,
        "contact_back": "06 00 00 00 01",
    }  # fmt: skip
