"""The token endpoint asks for the TOTP code when 2FA applies: the API is no way around it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from directory.models import Member
from security import two_factor
from tests.security.test_two_factor import code_for, enrolled_device, wrong_code_for

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def two_factor_on(settings) -> None:
    settings.REQUIRE_2FA = True


def ask_token(client: APIClient, **extra: str) -> object:
    return client.post(TOKEN, {"username": "dr.martin", "password": "demo", **extra})


def test_it_issues_a_token_with_the_current_code(two_factor_on, api_client, demo) -> None:
    device = enrolled_device(demo["dr.martin"].user)

    response = ask_token(api_client, otp=code_for(device))

    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.get("/api/v1/me/").status_code == 200


def test_it_names_the_missing_otp(two_factor_on, api_client, demo) -> None:
    enrolled_device(demo["dr.martin"].user)

    for response in (ask_token(api_client), ask_token(api_client, otp="")):
        assert response.status_code == 400
        assert "requis" in response.json()["otp"][0]
        assert "token" not in response.json()


def test_it_refuses_a_wrong_otp(two_factor_on, api_client, demo) -> None:
    device = enrolled_device(demo["dr.martin"].user)

    response = ask_token(api_client, otp=wrong_code_for(device))

    assert response.status_code == 400
    assert list(response.json()) == ["otp"]


def test_it_refuses_a_replayed_otp(two_factor_on, api_client, demo) -> None:
    device = enrolled_device(demo["dr.martin"].user)
    code = code_for(device)
    assert ask_token(api_client, otp=code).status_code == 200

    response = ask_token(api_client, otp=code)

    assert response.status_code == 400
    assert "déjà utilisé" in response.json()["otp"][0]


def test_it_refuses_recovery_codes(two_factor_on, api_client, demo) -> None:
    user = demo["dr.martin"].user
    enrolled_device(user)
    codes = two_factor.regenerate_recovery_codes(user)

    response = ask_token(api_client, otp=codes[0])

    assert response.status_code == 400
    assert "otp" in response.json()
    assert two_factor.recovery_codes_left(user) == two_factor.RECOVERY_CODE_COUNT


def test_it_asks_a_member_without_a_device_to_enrol_on_the_web(
    two_factor_on, api_client, demo
) -> None:
    response = ask_token(api_client, otp="123456")

    assert response.status_code == 400
    assert "Activez d'abord" in response.json()["otp"][0]


def test_it_checks_the_password_before_the_code(two_factor_on, api_client, demo) -> None:
    response = api_client.post(TOKEN, {"username": "dr.martin", "password": "nope"})

    assert response.status_code == 400
    assert "otp" not in response.json()


def test_it_ignores_otp_when_2fa_is_not_enforced(api_client, demo: dict[str, Member]) -> None:
    assert ask_token(api_client).status_code == 200
    assert ask_token(api_client, otp="whatever").status_code == 200


def test_it_documents_otp_in_the_schema(api_client) -> None:
    schema = api_client.get("/api/schema/?format=json").json()
    body = schema["paths"][TOKEN]["post"]["requestBody"]["content"]["application/json"]
    component = body["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = schema["components"]["schemas"][component]["properties"]

    assert "otp" in properties
    assert "otp" not in schema["components"]["schemas"][component].get("required", [])
    assert "authenticator app" in properties["otp"]["description"]
