"""The README's screenshots: the demo on SQLite in a temporary directory, driven by Chromium.

    .venv/bin/python docs/screenshots.py        # writes docs/img/*.png

It builds a fresh demo (its own VAR_DIR: database, keys and files, deleted afterwards), ages
the referrals still waiting for a reception so the worklist shows its triage ("en retard de
…"), starts `runserver` on a free port and photographs, as the persona who sees each page:
the hospital inbox (1366 and 360 px), the discharge letter's error summary and a sheet's
timeline. Debian's chromium (/usr/bin/chromium), as in the browser tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
IMG_DIR = BASE_DIR / "docs" / "img"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_demo() -> None:
    """Migrate, load the demo, and make the waiting referrals late by different amounts."""
    sys.path.insert(0, str(BASE_DIR))
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.utils.timezone import now  # noqa: PLC0415

    from liaison.models import LiaisonSheet  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    waiting = LiaisonSheet.objects.filter(
        kind=LiaisonSheet.Kind.REFERRAL,
        status__in=(LiaisonSheet.Status.SENT, LiaisonSheet.Status.RECEIVED),
    ).order_by("pk")
    ages = (timedelta(days=3, hours=2), timedelta(days=4, hours=5))
    for age, sheet in zip(ages, waiting, strict=False):
        LiaisonSheet.objects.filter(pk=sheet.pk).update(sent_at=now() - age)
    call_command("rebuild_indicators", stdout=open(os.devnull, "w"))  # noqa: SIM115 (the clocks moved)


def wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("the demo server stopped before answering")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310  (our own local server)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def photograph(base: str) -> list[Path]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    IMG_DIR.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # --lang: date fields read dd/mm/yyyy, as in a French clinician's browser.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--lang=fr-FR",
            ],
        )

        def session(username: str, width: int, height: int = 900):
            context = browser.new_context(
                locale="fr-FR", viewport={"width": width, "height": height}
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{base}/connexion/")
            page.get_by_label("Identifiant").fill(username)
            page.get_by_label("Mot de passe").fill("demo")
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(f"{base}/")
            return context, page

        def shot(page, name: str, **options: object) -> None:
            path = IMG_DIR / f"{name}.png"
            page.screenshot(path=str(path), **options)
            written.append(path)

        # 1. The hospital secretary's inbox, triaged: late first, saying by how long.
        context, page = session("hop.cardio2", 1366, 760)  # the service's secretary
        page.goto(f"{base}/liaison/")
        shot(page, "worklist-1366")
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(f"{base}/liaison/")
        shot(page, "worklist-360")
        context.close()

        # 2. The ward doctor sends an incomplete discharge letter: the summary names the
        # fields in words and links to them.
        context, page = session("hop.cardio", 1366, 900)  # the ward's cardiologist
        page.goto(f"{base}/liaison/?kind=discharge&onglet=brouillons")
        page.locator("#worklist tbody a").first.click()
        page.get_by_role("button", name="Envoyer").click()
        summary = page.locator(".error-box").first
        # Down to the summary's end: headless Chromium draws date fields as mm/dd/yyyy
        # whatever its language (a French clinician's browser shows dd/mm/yyyy).
        box = summary.bounding_box()
        assert box is not None
        shot(
            page,
            "form-errors-1366",
            clip={"x": 0, "y": 0, "width": 1366, "height": box["y"] + box["height"] + 24},
        )
        context.close()

        # 3. The GP reads an accepted referral: its history in French, who did what and when
        # (the demo's closed one was accepted for a date before it was sent: not shown).
        context, page = session("dr.martin", 1366, 900)
        page.goto(f"{base}/liaison/?onglet=envoyees")
        page.locator("#worklist tr", has_text="NGUYEN").first.get_by_role("link").first.click()
        # The sheet's title, its patient and its history: the cards between them are hidden.
        page.evaluate(
            "document.querySelectorAll('main section.card:not(.identity):not(#timeline)')"
            ".forEach(card => { card.hidden = true; })"
        )
        shot(page, "timeline-1366", full_page=True)
        context.close()
        browser.close()
    return written


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cpts-screenshots-") as var_dir:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "True",
            "REQUIRE_2FA": "False",
            "VAR_DIR": var_dir,
            "DATABASE_URL": f"sqlite:///{var_dir}/db.sqlite3",
            "EMAIL_URL": "locmem://",
        }
        env.pop("REDIS_URL", None)
        os.environ.update(env)
        os.environ.pop("REDIS_URL", None)
        for sub in ("celery-spool/queue", "celery-spool/processed", "celery-spool/control"):
            Path(var_dir, sub).mkdir(parents=True, exist_ok=True)
        prepare_demo()
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz", server)
            for path in photograph(base):
                print(f"{path.relative_to(BASE_DIR)}: {path.stat().st_size // 1024} kB")  # noqa: T201
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
