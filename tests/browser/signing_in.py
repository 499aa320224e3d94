"""Logging a browser in without its login form, for the tests that are not about logging in."""

from __future__ import annotations

from django.test import Client
from playwright.sync_api import Page


def sign_in(page: Page, base_url: str, username: str, password: str = "demo") -> Page:
    """The page, logged in as `username`, on the home page, without rendering the login form.

    The same login view takes the same POST, in process (Django's test client), and the
    browser gets every cookie it answered with (session, form owner, language): what the
    form would have left, for a third of the time (the form's page and its redirect are not
    rendered).
    """
    # Leave the page first: a request still in flight from the previous persona's page
    # (a poll, a stream) could otherwise answer with their session cookie after ours is set.
    page.goto("about:blank")
    client = Client()
    response = client.post("/connexion/", {"username": username, "password": password})
    assert response.status_code == 302, (username, response.status_code)
    assert response["Location"] == "/", (username, response["Location"])
    page.context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": base_url}
            for name, morsel in client.cookies.items()
            if morsel.value  # a cookie the login deleted (max-age 0) is not sent again
        ]
    )
    page.goto(f"{base_url}/")
    return page
