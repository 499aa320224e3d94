"""Settings come from the environment and refuse unsafe production defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def run_settings(
    env: dict[str, str], code: str = "import config.settings"
) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "DEBUG")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_in_production() -> None:
    result = run_settings({"DEBUG": "False"})
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_generates_a_dev_key_only_with_debug(tmp_path: Path) -> None:
    result = run_settings(
        {"DEBUG": "True", "VAR_DIR": str(tmp_path)},
        "from django.conf import settings; import config.settings as s; print(len(s.SECRET_KEY))",
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 50
    assert (tmp_path / "dev-secret-key").exists()


def test_it_refuses_to_start_without_encryption_keys_in_production(tmp_path: Path) -> None:
    result = run_settings(
        {
            "DEBUG": "False",
            "SECRET_KEY": "x" * 60,
            "ENCRYPTION_KEYS": "",
            "BLIND_INDEX_KEY": "",
            "VAR_DIR": str(tmp_path),
        }
    )
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS and BLIND_INDEX_KEY are required" in result.stderr
    assert not (tmp_path / "dev-encryption-key").exists()


def test_it_generates_dev_encryption_keys_only_with_debug(tmp_path: Path) -> None:
    result = run_settings(
        {"DEBUG": "True", "ENCRYPTION_KEYS": "", "BLIND_INDEX_KEY": "", "VAR_DIR": str(tmp_path)},
        "import config.settings as s; print(len(s.ENCRYPTION_KEYS), len(s.BLIND_INDEX_KEY))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "32"]
    assert (tmp_path / "dev-encryption-key").exists()
    assert (tmp_path / "dev-blind-index-key").exists()


def test_it_refuses_to_start_without_audit_keys_in_production(tmp_path: Path) -> None:
    for missing in ("AUDIT_KEYS", "AUDIT_CHECKPOINT_SIGNING_KEY"):
        result = run_settings(
            {"DEBUG": "False", "SECRET_KEY": "x" * 60, missing: "", "VAR_DIR": str(tmp_path)}
        )
        assert result.returncode != 0
        assert "AUDIT_KEYS and AUDIT_CHECKPOINT_SIGNING_KEY are required" in result.stderr
    assert not (tmp_path / "dev-audit-keys").exists()


def test_it_refuses_to_start_with_a_malformed_audit_key() -> None:
    result = run_settings({"DEBUG": "False", "SECRET_KEY": "x" * 60, "AUDIT_KEYS": "a1:c2hvcnQ="})
    assert result.returncode != 0
    assert "AUDIT_KEYS (id 'a1'): a key must decode to at least 32 bytes" in result.stderr


def test_it_generates_dev_audit_keys_only_with_debug(tmp_path: Path) -> None:
    code = (
        "import config.settings as s; from security.audit_keys import parse_audit_keys, "
        "parse_checkpoint_keys as p; print(parse_audit_keys(s.AUDIT_KEYS).current_id, "
        "p(s.AUDIT_CHECKPOINT_SIGNING_KEY).signing_id)"
    )
    env = {"AUDIT_KEYS": "", "AUDIT_CHECKPOINT_SIGNING_KEY": "", "VAR_DIR": str(tmp_path)}
    result = run_settings({"DEBUG": "True", **env}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dev1", "devcp1"]
    assert (tmp_path / "dev-audit-keys").exists()
    assert (tmp_path / "dev-audit-checkpoint-key").exists()


def test_two_factor_is_required_by_default_outside_debug() -> None:
    production = {
        "DEBUG": "False",
        "SECRET_KEY": "x" * 60,
        "ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
        "BLIND_INDEX_KEY": "B" * 43 + "=",
        "REQUIRE_2FA": "",
    }
    code = "import config.settings as s; print(s.REQUIRE_2FA)"
    assert run_settings(production, code).stdout.strip() == "True"
    assert run_settings({"DEBUG": "True", "REQUIRE_2FA": ""}, code).stdout.strip() == "False"


def test_it_rejects_a_malformed_boolean() -> None:
    result = run_settings({"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe'" in result.stderr


def test_it_parses_email_url() -> None:
    from config.settings import email_settings

    smtp = email_settings("smtp://user:p%40ss@mail.example:2525?tls=1")
    assert smtp["EMAIL_HOST"] == "mail.example"
    assert smtp["EMAIL_PORT"] == 2525
    assert smtp["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert smtp["EMAIL_USE_TLS"] is True
    assert "console" in str(email_settings("")["EMAIL_BACKEND"])


def test_it_speaks_french_in_paris() -> None:
    assert settings.LANGUAGE_CODE == "fr"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert ("en", "Anglais") in [(code, str(name)) for code, name in settings.LANGUAGES]


def site_url(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"SITE_URL": "", "PUBLIC_BASE_URL": "", "DEMO_PORT": "", "SECRET_KEY": "x" * 60}
    return run_settings({**base, **env}, "import config.settings as s; print(s.SITE_URL)")


def test_the_public_address_of_links_comes_from_the_environment() -> None:
    given = site_url({"SITE_URL": "https://liaison.cpts-sud.fr/", "DEBUG": "True"})
    assert given.stdout.strip() == "https://liaison.cpts-sud.fr", given.stderr
    alias = site_url({"PUBLIC_BASE_URL": "https://cpts.example:8443", "DEBUG": "True"})
    assert alias.stdout.strip() == "https://cpts.example:8443", alias.stderr


def test_unset_the_public_address_is_where_the_site_answers() -> None:
    # The demo on another port: its links no longer say 127.0.0.1:8000.
    demo = site_url({"DEBUG": "True", "DEMO_PORT": "8123"})
    assert demo.stdout.strip() == "http://127.0.0.1:8123", demo.stderr
    production = site_url({"DEBUG": "False", "ALLOWED_HOSTS": "*.cpts.fr,liaison.cpts.fr"})
    assert production.stdout.strip() == "https://liaison.cpts.fr", production.stderr


def test_a_malformed_public_address_fails_loudly() -> None:
    result = site_url({"SITE_URL": "liaison.cpts.fr", "DEBUG": "True"})
    assert result.returncode != 0
    assert "SITE_URL='liaison.cpts.fr': an absolute http(s) address is expected" in result.stderr
