"""The tests' WhiteNoise (tests/static_files.py) answers as production's, listing once."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from whitenoise.middleware import WhiteNoiseMiddleware

from tests.static_files import FindersReadOncePerProcess


def never_called(request: object) -> None:
    raise AssertionError("a static file reached the views")


def answer(middleware: WhiteNoiseMiddleware, url: str) -> tuple[int, list[tuple[str, str]]]:
    """The status and headers WhiteNoise answers a plain GET of `url` with."""
    response = middleware.files[url].get_response("GET", {})
    if response.file is not None:
        response.file.close()
    return response.status, sorted(response.headers)


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each time the finders are listed (one entry per listing), from an empty cache."""
    monkeypatch.setattr(FindersReadOncePerProcess, "_from_finders", {})
    calls: list[int] = []
    get_finders = finders.get_finders

    def counted():  # type: ignore[no-untyped-def]
        calls.append(1)
        return get_finders()

    monkeypatch.setattr("whitenoise.middleware.finders.get_finders", counted)
    return calls


def test_the_finders_are_listed_once_for_many_clients(listings: list[int]) -> None:
    first = FindersReadOncePerProcess(never_called)
    second = FindersReadOncePerProcess(never_called)

    assert listings == [1]
    assert "/static/css/app.css" in first.files
    assert second.files.keys() == first.files.keys()


def test_it_answers_what_whitenoise_answers(listings: list[int]) -> None:
    ours = FindersReadOncePerProcess(never_called)
    production = WhiteNoiseMiddleware(never_called)

    kept = FindersReadOncePerProcess(never_called)
    assert listings == [1, 1]  # ours once, production's once
    assert ours.files.keys() == production.files.keys()
    for url in ("/static/css/app.css", "/static/img/favicon.svg"):
        assert answer(kept, url) == answer(production, url)


def test_a_changed_setting_gets_its_own_listing(listings: list[int], settings) -> None:
    FindersReadOncePerProcess(never_called)
    settings.WHITENOISE_MAX_AGE = 1234
    longer = FindersReadOncePerProcess(never_called)

    assert listings == [1, 1]
    assert ("Cache-Control", "max-age=1234, public") in answer(longer, "/static/css/app.css")[1]


def test_the_client_gets_the_file_with_its_headers() -> None:
    response = Client().get("/static/css/app.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == Path(finders.find("css/app.css")).read_bytes()
