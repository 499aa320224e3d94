"""One client address for the lockout, the throttles and the audit, read from the right of
X-Forwarded-For and only as far as the trusted proxies go."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axes.utils import reset
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle as DRFScopedRateThrottle
from rest_framework.views import APIView

from config.settings import trusted_proxies_from_env
from directory.models import Member
from security import actions
from security.client_address import client_address
from security.models import AuditEntry
from security.throttling import ClientAddressThrottle, WriteRateThrottle

PROXY = "10.0.0.1"  # REMOTE_ADDR: the reverse proxy in front of gunicorn
CLIENT = "203.0.113.7"
TOKEN = "/api/v1/auth/token/"


def address_of(remote: str = PROXY, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


@pytest.fixture
def one_proxy(settings) -> None:
    """What BEHIND_TLS_PROXY=True gives: the TLS header, one trusted proxy, DRF's NUM_PROXIES."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXIES = []
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


@pytest.fixture
def two_proxies(settings) -> None:
    """A load balancer in front of nginx: two trusted proxies."""
    settings.TRUSTED_PROXY_COUNT = 2
    settings.TRUSTED_PROXIES = []


@pytest.fixture
def proxy_networks(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]


# --- the function ------------------------------------------------------------------------------


def test_without_proxies_it_never_reads_the_header(settings) -> None:
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, []

    assert address_of("198.51.100.9", f"{CLIENT}") == "198.51.100.9"


@pytest.mark.usefixtures("one_proxy")
@pytest.mark.parametrize(
    "spoofed",
    ["", "1.2.3.4, ", "1.2.3.4, 5.6.7.8, ", "garbage, ", "10.0.0.1, ", ", , ,", "::1, " * 50],
)
def test_a_client_supplied_prefix_never_changes_it(spoofed: str) -> None:
    assert address_of(PROXY, f"{spoofed}{CLIENT}") == CLIENT


@pytest.mark.usefixtures("one_proxy")
def test_with_one_proxy_and_no_header_it_is_the_peer() -> None:
    assert address_of("198.51.100.9") == "198.51.100.9"


@pytest.mark.usefixtures("two_proxies")
def test_with_two_proxies_it_is_what_the_outer_one_saw() -> None:
    assert address_of(PROXY, f"6.6.6.6, {CLIENT}, 10.0.0.2") == CLIENT


@pytest.mark.usefixtures("two_proxies")
def test_a_header_shorter_than_the_proxy_chain_is_ignored() -> None:
    """It did not come through both proxies, so its one entry may be the client's own."""
    assert address_of(PROXY, "6.6.6.6") == PROXY


@pytest.mark.usefixtures("proxy_networks")
def test_with_proxy_networks_it_stops_at_the_first_hop_that_is_not_a_proxy() -> None:
    assert address_of(PROXY, f"6.6.6.6, {CLIENT}, 10.0.0.2, 10.9.9.9") == CLIENT


@pytest.mark.usefixtures("proxy_networks")
def test_with_proxy_networks_a_peer_that_is_not_a_proxy_is_the_client() -> None:
    """Someone reaching gunicorn directly cannot claim an address with the header."""
    assert address_of("198.51.100.9", f"{CLIENT}, 10.0.0.2") == "198.51.100.9"


@pytest.mark.usefixtures("proxy_networks")
def test_with_proxy_networks_ipv6_hops_are_walked_too() -> None:
    assert address_of("2001:db8:ffff::1", "2001:db8:1::5, 2001:db8:ffff::2") == "2001:db8:1::5"


@pytest.mark.usefixtures("one_proxy")
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("2001:DB8:0:0::1", "2001:db8::1"),  # one spelling per address
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:203.0.113.7", CLIENT),  # IPv4-mapped: the IPv4 client
        (f"{CLIENT}:5123", CLIENT),
        (f" {CLIENT} ", CLIENT),
    ],
)
def test_it_normalises_what_proxies_write(entry: str, expected: str) -> None:
    assert address_of(PROXY, f"6.6.6.6, {entry}") == expected


@pytest.mark.usefixtures("one_proxy")
@pytest.mark.parametrize(
    "garbage",
    [
        "unknown",
        "",
        " ",
        "<script>",
        "203.0.113.7\x00",
        "999.1.1.1",
        "1" * 5000,
        "[::1",
        "[::1]x",
        "a:b",
    ],
)
def test_a_malformed_entry_falls_back_to_the_nearest_good_hop(garbage: str) -> None:
    assert address_of(PROXY, f"{CLIENT}, {garbage}") == PROXY


@pytest.mark.usefixtures("proxy_networks")
def test_with_proxy_networks_a_malformed_entry_stops_at_the_last_proxy() -> None:
    assert address_of(PROXY, f"{CLIENT}, garbage, 10.0.0.2") == "10.0.0.2"


def test_an_unusable_peer_address_gives_an_empty_address(settings) -> None:
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 0, []

    assert address_of("", CLIENT) == ""
    assert address_of("not-an-ip") == ""


# --- the settings ------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch) -> pytest.MonkeyPatch:
    for name in ("TRUSTED_PROXY_COUNT", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_behind_a_tls_proxy_means_one_trusted_proxy(clean_env) -> None:
    assert trusted_proxies_from_env(behind_tls_proxy=True) == (1, [])
    assert trusted_proxies_from_env(behind_tls_proxy=False) == (0, [])


def test_proxy_networks_replace_the_count(clean_env) -> None:
    clean_env.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32,192.0.2.5")

    assert trusted_proxies_from_env(behind_tls_proxy=True) == (
        0,
        ["10.0.0.0/8", "2001:db8::/32", "192.0.2.5/32"],
    )


@pytest.mark.parametrize(
    ("env", "behind"),
    [
        ({"TRUSTED_PROXIES": "10.0.0.0/8", "TRUSTED_PROXY_COUNT": "1"}, False),  # both
        ({"TRUSTED_PROXIES": "10.0.0.5/8"}, False),  # host bits: a typo, not a /8
        ({"TRUSTED_PROXIES": "proxy.local"}, False),
        ({"TRUSTED_PROXY_COUNT": "-1"}, False),
        ({"TRUSTED_PROXY_COUNT": "0"}, True),  # everyone would share the proxy's address
    ],
)
def test_it_refuses_a_doubtful_proxy_configuration(clean_env, env, behind) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)

    with pytest.raises(ImproperlyConfigured):
        trusted_proxies_from_env(behind_tls_proxy=behind)


# --- its users: lockout, throttles, audit ------------------------------------------------------


@pytest.fixture
def clean_counters() -> Iterator[None]:
    reset()
    cache.clear()
    yield
    reset()
    cache.clear()


def spoofed(i: int) -> dict[str, str]:
    """A client behind the proxy that rotates a fake address at the left of the header."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"198.18.0.{i}, {CLIENT}"}


@pytest.mark.django_db
@pytest.mark.usefixtures("one_proxy", "clean_counters")
def test_a_rotating_spoofed_address_is_still_locked_out_of_the_web_login(
    client: Client, demo
) -> None:
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        client.post("/connexion/", {"username": "dr.martin", "password": "faux"}, **spoofed(i))

    data = {"username": "dr.martin", "password": "demo"}
    response = client.post("/connexion/", data, **spoofed(99))

    assert response.status_code == 429
    assert "Connexion temporairement bloquée" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.usefixtures("one_proxy", "clean_counters")
def test_a_rotating_spoofed_address_is_still_locked_out_of_the_token_endpoint(
    api_client: APIClient, demo
) -> None:
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        api_client.post(TOKEN, {"username": "dr.martin", "password": "faux"}, **spoofed(i))

    response = api_client.post(TOKEN, {"username": "dr.martin", "password": "demo"}, **spoofed(77))

    assert response.status_code == 429
    assert "token" not in response.json()


@pytest.mark.django_db
@pytest.mark.usefixtures("one_proxy", "clean_counters")
def test_another_client_behind_the_same_proxy_is_not_locked_out(
    api_client: APIClient, demo
) -> None:
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        api_client.post(TOKEN, {"username": "dr.martin", "password": "faux"}, **spoofed(i))

    colleague = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    response = api_client.post(TOKEN, {"username": "dr.martin", "password": "demo"}, **colleague)

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("two_proxies", "clean_counters")
def test_the_token_throttle_keys_on_the_real_client(
    api_client: APIClient, demo, monkeypatch
) -> None:
    # DRF binds the rates to the throttle class when it is imported: set them there.
    rates = {**DRFScopedRateThrottle.THROTTLE_RATES, "token": "2/min"}
    monkeypatch.setattr(DRFScopedRateThrottle, "THROTTLE_RATES", rates)

    def ask(client_ip: str, fake: str) -> int:
        headers = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{fake}, {client_ip}, 10.0.0.2"}
        data = {"username": "nobody", "password": "x"}
        return api_client.post(TOKEN, data, **headers).status_code

    assert [ask(CLIENT, f"198.18.0.{i}") for i in range(3)] == [400, 400, 429]
    assert ask("198.51.100.20", "198.18.0.1") == 400  # a colleague behind the same proxies


@pytest.mark.django_db
@pytest.mark.usefixtures("proxy_networks", "clean_counters")
def test_the_write_throttle_keys_anonymous_callers_on_the_real_client(settings) -> None:
    """Anonymous writes are refused anyway, but their throttle must not be shared by all."""
    request = APIView().initialize_request(
        RequestFactory().post(
            "/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"1.1.1.1, {CLIENT}, 10.0.0.2"
        )
    )

    assert WriteRateThrottle().get_cache_key(request, None) == f"throttle_writes_{CLIENT}"


def _views(resolver: URLResolver | None = None) -> Iterator[type]:
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is not None and issubclass(view_class, APIView):
                yield view_class


def test_every_throttle_keys_on_the_client_address() -> None:
    throttles = set(api_settings.DEFAULT_THROTTLE_CLASSES)
    for view in _views():
        throttles.update(view.throttle_classes)

    assert throttles, "no throttle found: the walk over the URLs is broken"
    assert {t for t in throttles if not issubclass(t, ClientAddressThrottle)} == set()


@pytest.mark.django_db
@pytest.mark.usefixtures("one_proxy")
def test_the_audit_records_the_real_client(client_for, demo: dict[str, Member]) -> None:
    client = client_for(demo["coord"])

    client.get("/api/v1/audit/", {"actor": str(demo["coord"].code)}, **spoofed(3))

    entry = AuditEntry.objects.get(action=actions.AUDIT_LIST)
    assert entry.ip == CLIENT
