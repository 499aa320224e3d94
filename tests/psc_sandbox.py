"""The local Pro Santé Connect provider (tools/psc-sandbox/, panva's oidc-provider) for tests.

A real OpenID Connect provider on 127.0.0.1 and a free port, one per test session and per
set of redirect URIs, with its test control on: `sandbox.misbehave(id_token="expired")`
makes the next answers break one rule, so the relying party's refusals run for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

SANDBOX_DIR = Path(__file__).resolve().parent.parent / "tools" / "psc-sandbox"
CLIENT_ID = "cpts-liaison-tests"
CLIENT_SECRET = "cpts-liaison-tests-secret"
# The identities of tools/psc-sandbox/identities.json the tests use.
MARTIN_RPPS = "10000000017"  # médecin généraliste (10 / SM54)
PETIT_RPPS = "20000000040"  # infirmière (60)
UNKNOWN_RPPS = "10000000991"  # in the provider, not in any test directory


@dataclass
class Sandbox:
    issuer: str
    process: subprocess.Popen[str]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/wallet-openid-configuration"

    def misbehave(self, **mode: str) -> None:
        """id_token: wrong_nonce | expired | bad_signature | wrong_issuer | wrong_audience;
        userinfo: jwt | json | bad_signature; discovery: broken | error; acr."""
        requests.post(f"{self.issuer}/__sandbox/mode", json=mode, timeout=5).raise_for_status()


def start_sandbox(*, redirect_uris: list[str], post_logout_uris: list[str]) -> Sandbox:
    node = shutil.which("node")
    if node is None:
        pytest.fail("The PSC tests need Node.js 20 (`node`) for tools/psc-sandbox/.")
    if not (SANDBOX_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=SANDBOX_DIR,
            check=True,
            timeout=300,
        )
    env = {
        **os.environ,
        "PSC_SANDBOX_PORT": "0",
        "PSC_SANDBOX_CLIENT_ID": CLIENT_ID,
        "PSC_SANDBOX_CLIENT_SECRET": CLIENT_SECRET,
        "PSC_SANDBOX_REDIRECT_URIS": ",".join(redirect_uris),
        "PSC_SANDBOX_POST_LOGOUT_URIS": ",".join(post_logout_uris),
        "PSC_SANDBOX_CONTROL": "1",
    }
    process = subprocess.Popen(
        [node, "server.mjs"],
        cwd=SANDBOX_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("PSC sandbox listening on "):
            return Sandbox(issuer=line.rsplit(" ", 1)[1].strip(), process=process)
    process.kill()
    pytest.fail("The PSC sandbox did not start (run `npm ci` in tools/psc-sandbox/).")


def stop_sandbox(sandbox: Sandbox) -> None:
    sandbox.process.terminate()
    try:
        sandbox.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()


def configure(settings: Any, sandbox: Sandbox) -> None:
    """Point the site at the sandbox (pytest-django's `settings` fixture undoes it)."""
    settings.PSC_DISCOVERY_URL = sandbox.discovery_url
    settings.PSC_CLIENT_ID = CLIENT_ID
    settings.PSC_CLIENT_SECRET = CLIENT_SECRET
    settings.AUTH_METHODS = ["psc", "password"]


@pytest.fixture(scope="session")
def psc_sandbox() -> Iterator[Sandbox]:
    """A sandbox for Django's test client (host "testserver")."""
    sandbox = start_sandbox(
        redirect_uris=["http://testserver/connexion/psc/retour/"],
        post_logout_uris=["http://testserver/connexion/"],
    )
    yield sandbox
    stop_sandbox(sandbox)


@pytest.fixture
def psc(psc_sandbox: Sandbox, settings: Any) -> Iterator[Sandbox]:
    """The site configured for the sandbox, which behaves until the test says otherwise."""
    from django.core.cache import cache

    configure(settings, psc_sandbox)
    psc_sandbox.misbehave()
    cache.clear()  # discovery and keys are cached per URL; a test starts from nothing
    yield psc_sandbox
    psc_sandbox.misbehave()


def follow_provider(provider: requests.Session, url: str, *, rpps: str, stop_at: str) -> str:
    """Go through the provider from `url` as a browser would, choosing the identity `rpps`
    on its login page; return the first URL that leaves for `stop_at` (the relying party)."""
    for _hop in range(12):
        if url.startswith(stop_at):
            return url
        answer = provider.get(url, allow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            continue
        path = urlsplit(url).path
        if answer.status_code == 200 and path.startswith("/interaction/"):
            answer = provider.post(
                urljoin(url, f"{path}/login"),
                data={"identity": rpps},
                allow_redirects=False,
                timeout=10,
            )
            url = urljoin(url, answer.headers["Location"])
            continue
        raise AssertionError(f"the provider answered {answer.status_code} at {url}")
    raise AssertionError("too many redirects at the provider")
