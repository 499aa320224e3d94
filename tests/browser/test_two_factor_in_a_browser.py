"""Strong authentication in a real browser: enrolment, a second login with a code, and the CSP.

The pages load no inline script or style, so Chromium's console must stay free of
Content-Security-Policy violations on every page visited, the Swagger UI included.
"""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import ConsoleMessage, Page, expect

from directory.demo import load_directory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_cpts() -> None:
    load_directory(password="demo")


@pytest.fixture
def two_factor_on(settings) -> None:
    settings.REQUIRE_2FA = True  # the live server thread reads the same settings


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """Console errors and page errors: a blocked script or style shows up here."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and (
            "Content Security Policy" in message.text or "Refused to" in message.text
        ):
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def log_in(page: Page, base_url: str, username: str = "dr.martin") -> None:
    page.goto(f"{base_url}/connexion/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill("demo")
    page.get_by_role("button", name="Se connecter").click()


def code_from_secret(secret: str) -> str:
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key):06d}"


def fresh_code(device: TOTPDevice) -> str:
    """The code the app shows now, or the next one if this one was already used at enrolment.

    The device refuses a time step it has already accepted (replay), and it accepts one step
    ahead, so this never has to wait up to 30 seconds.
    """
    for ahead in (0, 1):
        generator = TOTP(
            device.bin_key, device.step, device.t0, device.digits, device.drift + ahead
        )
        if generator.t() > device.last_t:
            return f"{generator.token():0{device.digits}d}"
    raise AssertionError("no usable code")


def test_a_gp_enrols_then_logs_in_again_with_a_code(
    demo_cpts, two_factor_on, page: Page, live_server, csp_violations
) -> None:
    log_in(page, live_server.url)

    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.locator("figure.qr-code svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill(code_from_secret(secret))
    page.get_by_role("button", name="Confirmer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Codes de secours")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Claire Martin")

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server.url}/connexion/")
    log_in(page, live_server.url)

    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    device = TOTPDevice.objects.get(user__username="dr.martin", confirmed=True)
    page.get_by_label("Code de vérification").fill(fresh_code(device))
    page.get_by_role("button", name="Vérifier").click()

    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Claire Martin")
    assert csp_violations == []


def test_a_wrong_code_is_refused_in_french(
    demo_cpts, two_factor_on, page: Page, live_server
) -> None:
    log_in(page, live_server.url)
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill("12345")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("alert")).to_contain_text("Ce code ne correspond pas")


# The API docs are here because they are the one third-party page the CSP had to be fitted to.
def test_the_api_docs_render_under_the_csp(page: Page, live_server, csp_violations) -> None:
    response = page.goto(f"{live_server.url}/api/docs/")

    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The schema is generated on first request: slow when every core runs a test worker.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "CPTS Liaison API", timeout=30_000
    )
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/v1/auth/token/")).to_be_visible()
    assert csp_violations == []
