"""The messaging settings come from the environment and refuse nonsense loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CODE = "import config.settings as s; print(s.MESSAGING_RETENTION_DAYS, s.MESSAGING_MAX_BODY_CHARS)"


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    clean.update({"DEBUG": "True", "SECRET_KEY": "x", "ENCRYPTION_KEYS": os.environ.get(
        "ENCRYPTION_KEYS", "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        "BLIND_INDEX_KEY": "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=", **env})  # fmt: skip
    return subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=clean, capture_output=True,
                          text=True, check=False)  # fmt: skip


def test_they_are_read_from_the_environment() -> None:
    result = run({"MESSAGING_RETENTION_DAYS": "30", "MESSAGING_MAX_BODY_CHARS": "500"})
    assert result.stdout.split() == ["30", "500"], result.stderr


def test_a_zero_or_a_word_is_refused() -> None:
    assert (
        "MESSAGING_RETENTION_DAYS must be a positive integer"
        in run({"MESSAGING_RETENTION_DAYS": "0"}).stderr
    )
    assert "an integer is expected" in run({"MESSAGING_POLL_SECONDS": "souvent"}).stderr


def test_the_subject_search_window_is_bounded() -> None:
    assert (
        "MESSAGING_SUBJECT_SEARCH_LIMIT must be at most 20000"
        in run({"MESSAGING_SUBJECT_SEARCH_LIMIT": "50000"}).stderr
    )
    assert "must be a positive integer" in run({"MESSAGING_SUBJECT_SEARCH_LIMIT": "0"}).stderr
