"""`assert_hidden_from`: the one-line test that an endpoint hides an object from members.

Every object endpoint gets it (STYLE §2.5: missing and forbidden are the same 404):

    def test_it_hides_the_sheet_from_outsiders(client_for, demo, sent_sheet):
        assert_hidden_from(
            client_for, "get", f"/api/v1/sheets/{sent_sheet.code}/",
            [demo["pharma.durand"], demo["hop.urgences"]],
        )
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from rest_framework.test import APIClient

from directory.models import Member

UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
NOT_FOUND_KEYS = {"detail", "code"}


def assert_hidden_from(
    client_factory: Callable[[Member], APIClient],
    method: str,
    url: str,
    members: Iterable[Member],
    data: dict[str, Any] | None = None,
) -> None:
    """Each of `members` gets a bare 404 from `method url`, exactly as if nothing were there.

    For each member: the status is 404, the body is `{"detail", "code": "not_found"}` and
    quotes no UUID, and, when the URL names objects by UUID, the answer is identical to the
    answer for the same URL with fresh UUIDs (an object that does not exist). A difference
    in either would let the member tell "forbidden" from "missing".
    """
    members = list(members)
    assert members, "assert_hidden_from needs at least one member to check"
    for member in members:
        who = f"{member.user.username} ({member.display_name})"
        client = client_factory(member)
        status, body = _call(client, method, url, data)
        assert status == 404, f"{who}: {method.upper()} {url} answered {status}, not 404: {body}"
        assert isinstance(body, dict), f"{who}: {method.upper()} {url}: 404 body is not JSON"
        assert set(body) <= NOT_FOUND_KEYS, f"{who}: {method.upper()} {url} said more: {body}"
        assert body.get("code") == "not_found", f"{who}: {method.upper()} {url}: {body}"
        assert not UUID_PATTERN.search(str(body)), f"{who}: the 404 quotes an id: {body}"
        if UUID_PATTERN.search(url):
            missing_url = UUID_PATTERN.sub(lambda _match: str(uuid.uuid4()), url)
            missing = _call(client_factory(member), method, missing_url, data)
            assert missing == (status, body), (
                f"{who}: {method.upper()} {url} answered {body}, but a missing object "
                f"answers {missing[1]}: the two must be indistinguishable"
            )


def _call(client: APIClient, method: str, url: str, data: dict[str, Any] | None) -> tuple[int, Any]:
    send = getattr(client, method.lower())
    response = send(url) if data is None else send(url, data, format="json")
    try:
        body = response.json()
    except ValueError:
        body = response.content
    return response.status_code, body
