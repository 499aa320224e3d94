"""`manage.py check --deploy` passes with production settings: no warning at all."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What tests/settings.py and tests/conftest.py set for the suite; production is the settings'
# own defaults.
TEST_ONLY = {
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "REQUIRE_2FA",
    "TOKEN_THROTTLE_RATE",
    "WRITE_THROTTLE_RATE",
    "EMAIL_URL",
    "ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "AUDIT_KEYS",
    "AUDIT_CHECKPOINT_SIGNING_KEY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
}


def production_environment(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in TEST_ONLY}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(64),
        ENCRYPTION_KEYS=f"prod1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUDIT_KEYS=f"audit1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        AUDIT_CHECKPOINT_SIGNING_KEY=f"cp1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        ALLOWED_HOSTS="cpts.example.fr",
        VAR_DIR=str(var_dir),
    )
    return env


def test_it_passes_the_deployment_checklist(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in result.stdout
