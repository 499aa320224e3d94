"""docker-compose.yml and the Dockerfile point at things that exist in this project.

No Docker engine runs here, so the compose file is checked statically: every service's
command must name a real module or management command, and every variable it sets must be
one that config/settings.py reads.
"""

from __future__ import annotations

import re
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
