"""The project builds as a wheel with PEP 639 licence metadata.

setuptools deprecated the `license = { text = ... }` table and stops building it in 2027: a
fresh `make demo` would then fail at `pip install -e .`. Building the wheel here (offline,
with the venv's own setuptools, as the pinned build backend would) keeps that from rotting.
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", "node_modules", "tests"
)


def test_the_wheel_declares_its_licence_as_an_spdx_expression(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIPPED)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*build, "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "license" not in result.stderr.lower(), result.stderr  # no deprecation warning

    (wheel,) = (tmp_path / "dist").glob("cpts_liaison-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(name for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(metadata_name))
    assert metadata["License-Expression"] == "AGPL-3.0-or-later"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    # The applications themselves are in it, with their templates and migrations.
    assert "liaison/services/transitions.py" in names
    assert "patients/identity.py" in names
    assert "security/migrations/0001_keys_and_audit.py" in names
