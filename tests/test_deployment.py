"""docker-compose.yml and the Dockerfile point at things that exist in this project.

No Docker engine runs here, so the compose file is checked statically: every service's
command must name a real module or management command, and every variable it sets must be
one that config/settings.py reads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()
KNOWN_ENV = set(re.findall(r'env_\w+\("([A-Z_]+)"', SETTINGS_SOURCE)) | set(
    re.findall(r'os\.environ\.get\("([A-Z_]+)"', SETTINGS_SOURCE)
)
SERVICE_IMAGES = {"db", "redis"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_it_defines_the_five_services() -> None:
    assert set(compose()["services"]) >= {"db", "redis", "web", "worker", "beat"}


def test_every_app_service_command_exists() -> None:
    commands = get_commands()
    for name, service in compose()["services"].items():
        if name in SERVICE_IMAGES:
            continue
        command = command_of(service)
        for management_command in re.findall(r"manage\.py (\w+)", command):
            assert management_command in commands, f"{name}: unknown command {management_command}"
        if "gunicorn" in command:
            module = re.search(
                r"gunicorn\s+(?:\S+\s+)*?([\w.]+):application|gunicorn.*?([\w.]+\.wsgi)", command
            )
            assert module, f"{name}: gunicorn without a WSGI module"
            assert (ROOT / "config" / "wsgi.py").exists()
        if "celery" in command:
            assert "-A config" in command, f"{name}: celery must load the config app"
            assert re.search(r"\b(worker|beat)\b", command)


def test_the_wsgi_workers_keep_their_connections_and_the_asgi_server_does_not() -> None:
    """Statements are prepared per connection (DB_PREPARED_STATEMENTS): a worker that opened
    one per request would plan every statement again. The ASGI server keeps none."""
    services = compose()["services"]
    assert int(services["web"]["environment"].get("DB_CONN_MAX_AGE", 0)) > 0
    assert int(services["push"]["environment"].get("DB_CONN_MAX_AGE", 0)) == 0


def test_every_variable_is_read_by_the_settings() -> None:
    for name, service in compose()["services"].items():
        if name in SERVICE_IMAGES:
            continue
        for variable in service.get("environment", {}):
            assert variable in KNOWN_ENV, f"{name}: {variable} is not read by config/settings.py"


def test_the_env_example_lists_every_variable_the_settings_read() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z_]+)=", example, re.MULTILINE))
    missing = KNOWN_ENV - listed
    assert not missing, f".env.example does not document {sorted(missing)}"


def test_the_dockerfile_installs_the_project_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert re.search(r"^USER\s+(?!root)\w+", dockerfile, re.MULTILINE)
    assert "collectstatic" in dockerfile


def dockerfile_run_steps() -> list[str]:
    """The RUN instructions of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line[4:].strip() for line in text.splitlines() if line.startswith("RUN ")]


SECRET_VARIABLES = (
    "SECRET_KEY",
    "ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "AUDIT_KEYS",
    "AUDIT_CHECKPOINT_SIGNING_KEY",
    "AUDIT_CHECKPOINT_PUBLIC_KEYS",
)


def test_the_image_builds_its_static_files_without_any_secret(tmp_path: Path) -> None:
    """The Dockerfile's collectstatic step, run as written, with no key in the environment.

    No Docker engine here: the same shell command runs in a copy of the build environment
    (this venv's Python, a scratch VAR_DIR), which is what `docker build` would execute.
    """
    (step,) = [step for step in dockerfile_run_steps() if "collectstatic" in step]
    command = step.split("&&")[0].strip()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SECRET_VARIABLES
        and not name.endswith("_FILE")
        and name not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(VAR_DIR=str(tmp_path), PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    result = subprocess.run(
        ["sh", "-c", command],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = tmp_path / "staticfiles" / "staticfiles.json"
    assert manifest.exists(), "collectstatic did not write whitenoise's manifest"
    assert "css/" in manifest.read_text()
    # Nothing of the throwaway keys was left behind for the image.
    assert not list(tmp_path.glob("dev-*")), "development key files were written at build time"


def test_the_production_settings_still_refuse_to_run_without_secrets(tmp_path: Path) -> None:
    env = {n: v for n, v in os.environ.items() if n not in SECRET_VARIABLES}
    env.update(DEBUG="False", VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_migrations_run_once_before_every_replica_starts() -> None:
    services = compose()["services"]
    migrating = [name for name, service in services.items() if "migrate" in command_of(service)]
    assert migrating == ["migrate"], f"only the one-shot service may migrate, not {migrating}"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name


def test_web_and_worker_scale_without_a_code_change() -> None:
    services = compose()["services"]
    for name in ("web", "worker"):
        assert "container_name" not in services[name], f"{name}: a fixed name cannot scale"
    for port in services["web"].get("ports", []):
        host = str(port).rsplit(":", 1)[0] if ":" in str(port) else ""
        assert "-" in host or not host, f"web publishes one fixed host port ({port}): --scale fails"
