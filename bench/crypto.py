"""Benchmark the encryption layer against OpenSSL on the same machine.

Why: attachments are encrypted and decrypted on every upload and download, and sensitive
columns on every read; this script shows what that costs and how far the Python layer is
from the raw AES-GCM speed of the machine (``openssl speed``), so a regression or a badly
chosen chunk size is visible.

Usage::

    python bench/crypto.py [--mb 256] [--repeat 3] [--write docs/benchmarks.md]
    python bench/crypto.py --smoke   # a second: 1 MiB, short timings, no openssl, no write

Throughputs are in MB/s with MB = 10**6 bytes, like ``openssl speed``. ``--mb`` is the
size of the test file in MiB; it is held in memory (plaintext and ciphertext), so the
figures measure CPU cost, not disk speed.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import cryptography  # noqa: E402
from cryptography.hazmat.backends.openssl.backend import backend  # noqa: E402

from security.crypto import (  # noqa: E402
    Key,
    Keyring,
    associated_data,
    blind_index,
    decrypt,
    encrypt,
)
from security.file_crypto import decrypt_stream, encrypt_stream  # noqa: E402

START_MARKER = "<!-- bench:crypto:start -->"
END_MARKER = "<!-- bench:crypto:end -->"
MIB = 1024 * 1024


@dataclass
class Row:
    """One line of the results table."""

    operation: str
    value: float
    unit: str
    compare_to_openssl: bool = False


class DiscardingSink(io.RawIOBase):
    """Writable stream that drops everything (decryption throughput without storage)."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)


def best_of(repeat: int, run: Callable[[], float]) -> float:
    """Return the shortest of ``repeat`` timings: the least disturbed by other processes."""
    return min(run() for _ in range(repeat))


def bench_files(size_mib: int, chunk_size: int, repeat: int, keyring: Keyring) -> list[Row]:
    """Measure streaming encryption and decryption of an in-memory file."""
    block = os.urandom(MIB)
    plaintext = block * size_mib
    aad = associated_data("messaging_attachment", "content", "bench")
    # Both directions write to a discarding sink so that the figures measure the crypto
    # layer, not the growth of an in-memory output buffer; the ciphertext to decrypt is
    # produced once, untimed.
    encrypted = io.BytesIO()
    encrypt_stream(
        io.BytesIO(plaintext), encrypted, keyring=keyring, aad=aad, chunk_size=chunk_size
    )
    ciphertext = encrypted.getvalue()
    del encrypted

    def run_encrypt() -> float:
        started = time.perf_counter()
        encrypt_stream(
            io.BytesIO(plaintext), DiscardingSink(), keyring=keyring, aad=aad, chunk_size=chunk_size
        )
        return time.perf_counter() - started

    def run_decrypt() -> float:
        sink = DiscardingSink()
        started = time.perf_counter()
        for chunk in decrypt_stream(io.BytesIO(ciphertext), keyring=keyring, aad=aad):
            sink.write(chunk)
        return time.perf_counter() - started

    encrypt_seconds = best_of(repeat, run_encrypt)
    decrypt_seconds = best_of(repeat, run_decrypt)
    label = f"{chunk_size // 1024} KiB chunks"
    megabytes = len(plaintext) / 1e6
    return [
        Row(f"File encryption, {label}", megabytes / encrypt_seconds, "MB/s", True),
        Row(f"File decryption, {label}", megabytes / decrypt_seconds, "MB/s", True),
    ]


TIMING_SECONDS = 1.0  # per value figure; the smoke run shortens it


def ops_per_second(operation: Callable[[], object], seconds: float | None = None) -> float:
    """Run ``operation`` repeatedly for about ``seconds`` and return calls per second."""
    seconds = TIMING_SECONDS if seconds is None else seconds
    calls = 0
    batch = 16 if seconds < 1 else 256
    started = time.perf_counter()
    while True:
        for _ in range(batch):
            operation()
        calls += batch
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed


def bench_values(repeat: int) -> list[Row]:
    """Measure encryption of one 1 KB column value, the per-row cost of sensitive fields."""
    # A huge budget so the benchmark measures crypto, not KeyExhausted.
    keyring = Keyring([Key("bench", os.urandom(32))], max_encryptions_per_key=2**32)
    value = os.urandom(1024)
    aad = associated_data("liaison_patient", "notes", "bench")
    token = encrypt(value, aad=aad, keyring=keyring)
    blind_key = os.urandom(32)
    encrypt_rate = max(
        ops_per_second(lambda: encrypt(value, aad=aad, keyring=keyring)) for _ in range(repeat)
    )
    decrypt_rate = max(
        ops_per_second(lambda: decrypt(token, aad=aad, keyring=keyring)) for _ in range(repeat)
    )
    index_rate = max(
        ops_per_second(lambda: blind_index("Lefèvre-Dupont", key=blind_key, purpose="bench"))
        for _ in range(repeat)
    )
    return [
        Row("Value encryption, 1 KB", encrypt_rate, "ops/s"),
        Row("Value decryption, 1 KB", decrypt_rate, "ops/s"),
        Row("Blind index (HMAC-SHA256 + normalisation)", index_rate, "ops/s"),
    ]


def openssl_baseline() -> tuple[float | None, str]:
    """Run ``openssl speed`` and return (MB/s on 16 KiB blocks, note for the report)."""
    executable = shutil.which("openssl")
    if executable is None:
        return None, "openssl is not installed on this machine: no baseline."
    command = [executable, "speed", "-evp", "aes-256-gcm", "-seconds", "1"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"`openssl speed` could not run ({error.__class__.__name__}): no baseline."
    version = subprocess.run(
        [executable, "version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.strip()
    columns: list[str] = []
    for line in result.stdout.splitlines():
        if line.startswith("type"):
            columns = re.findall(r"(\d+) bytes", line)
        elif line.lower().startswith("aes-256-gcm") and "16384" in columns:
            figures = line.split()[1:]
            figure = figures[columns.index("16384")]
            kilobytes = float(figure.rstrip("k"))
            return kilobytes * 1000 / 1e6, f"Baseline: {version}."
    return None, "Could not parse `openssl speed` output: no baseline."


def library_versions() -> str:
    """Describe the Python and OpenSSL versions the figures depend on."""
    try:
        openssl = backend.openssl_version_text()
    except AttributeError:
        openssl = "unknown OpenSSL"
    return (
        f"Python {platform.python_version()}, cryptography {cryptography.__version__} ({openssl})"
    )


def render(rows: list[Row], baseline: float | None, note: str, args: argparse.Namespace) -> str:
    """Render the Markdown section, markers included."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    lines = [
        START_MARKER,
        "## Encryption (`security.crypto`, `security.file_crypto`)",
        "",
        f"Measured {now} on {machine}; {library_versions()}. "
        f"File: {args.mb} MiB in memory, best of {args.repeat}. MB = 10^6 bytes.",
        "",
        "| Operation | Result | vs OpenSSL |",
        "|---|---:|---:|",
    ]
    for row in rows:
        ratio = ""
        if row.compare_to_openssl and baseline:
            ratio = f"{row.value / baseline:.0%}"
        lines.append(f"| {row.operation} | {row.value:,.0f} {row.unit} | {ratio} |")
    if baseline is not None:
        lines.append(
            f"| Baseline: `openssl speed -evp aes-256-gcm`, 16 KiB blocks "
            f"| {baseline:,.0f} MB/s | 100% |"
        )
    lines += [
        "",
        note,
        "File figures read from memory and write to a discarding sink; they include HKDF "
        "key derivation, per-chunk authentication and buffer copies. Value figures include "
        "token framing and the nonce-budget bookkeeping. `openssl speed` uses the system "
        "OpenSSL, which may be older than the one bundled with `cryptography`, so the "
        "layer can beat its baseline.",
        "",
        f"Reproduce: `python bench/crypto.py --mb {args.mb} --repeat {args.repeat}`.",
        END_MARKER,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace the marked section of ``path`` (or append it), leaving the rest untouched."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# Benchmarks\n"
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARKER) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table and optionally write it to a file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept")
    parser.add_argument(
        "--write", type=Path, help="Markdown file to update, e.g. docs/benchmarks.md"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, print the table, write nothing (CI)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        if args.write:
            parser.error("--smoke writes nothing: drop --write")
        global TIMING_SECONDS  # a knob of this script, set once before any timing
        TIMING_SECONDS = 0.05
        args.mb, args.repeat = 1, 1
    if args.mb < 1 or args.repeat < 1:
        parser.error("--mb and --repeat must be positive")

    keyring = Keyring([Key("bench", os.urandom(32))], max_encryptions_per_key=2**32)
    rows: list[Row] = []
    for chunk_size in (64 * 1024, MIB):
        rows += bench_files(args.mb, chunk_size, args.repeat, keyring)
    rows += bench_values(args.repeat)
    if args.smoke:
        baseline, note = None, "Smoke run: no `openssl speed` baseline."
    else:
        baseline, note = openssl_baseline()
    section = render(rows, baseline, note, args)
    print(section)
    if args.write:
        write_section(args.write, section)
        print(f"\nWrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
