"""tests.access.assert_hidden_from, and the access rules it checks for (security.access,
directory.selectors)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from directory.models import Member, Membership
from directory.selectors import is_coordinator, require_coordinator
from security.access import get_or_not_found
from security.exceptions import NotFound
from tests.access import assert_hidden_from
from tests.factories import MemberFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def everyone_but_the_coordination(demo: dict[str, Member]) -> list[Member]:
    return [member for username, member in demo.items() if username != "coord"]


class TestTheHelper:
    def test_it_passes_when_every_member_gets_a_bare_404(self, client_for, demo) -> None:
        assert_hidden_from(
            client_for,
            "get",
            f"/api/v1/audit/?target={demo['ide.petit'].code}",
            everyone_but_the_coordination(demo),
        )

    def test_it_compares_with_the_answer_for_a_missing_object(self, client_for, demo) -> None:
        # Hidden by access_member from everyone but the coordination (which keeps the
        # directory and may reactivate them), like a missing one.
        gone = MemberFactory(is_active=False)

        assert_hidden_from(client_for, "get", f"/api/v1/members/{gone.code}/", [demo["dr.martin"]])

    def test_it_fails_naming_the_member_who_gets_through(self, client_for, demo) -> None:
        with pytest.raises(AssertionError, match=r"coord \(Élise Fontaine\).* answered 200"):
            assert_hidden_from(
                client_for,
                "get",
                f"/api/v1/audit/?target={demo['ide.petit'].code}",
                [demo["dr.martin"], demo["coord"]],
            )

    def test_it_fails_on_a_404_that_says_more(self, demo) -> None:
        client = FakeClient({"detail": "Fiche de Jean Dupont", "code": "not_found", "x": 1})

        with pytest.raises(AssertionError, match="said more"):
            assert_hidden_from(lambda _m: client, "get", "/api/v1/things/", [demo["dr.martin"]])

    def test_it_fails_on_a_404_that_quotes_an_id(self, demo) -> None:
        code = uuid.uuid4()
        client = FakeClient({"detail": f"sheet {code} is not yours", "code": "not_found"})

        with pytest.raises(AssertionError, match="quotes an id"):
            assert_hidden_from(lambda _m: client, "get", f"/things/{code}/", [demo["dr.martin"]])

    def test_it_fails_when_forbidden_and_missing_differ(self, demo) -> None:
        code = uuid.uuid4()
        client = FakeClient(
            {"detail": "forbidden sheet", "code": "not_found"},
            when_missing={"detail": "no such sheet", "code": "not_found"},
            known_url=f"/things/{code}/",
        )

        with pytest.raises(AssertionError, match="indistinguishable"):
            assert_hidden_from(lambda _m: client, "post", f"/things/{code}/", [demo["ide.petit"]])

    def test_it_needs_someone_to_check(self, client_for) -> None:
        with pytest.raises(AssertionError, match="at least one member"):
            assert_hidden_from(client_for, "get", "/api/v1/audit/", [])


class FakeResponse:
    def __init__(self, body: dict[str, Any]) -> None:
        self.status_code = 404
        self.body = body

    def json(self) -> dict[str, Any]:
        return self.body


class FakeClient:
    """A misbehaving endpoint, to prove the helper catches it (the real API does not)."""

    def __init__(
        self,
        body: dict[str, Any],
        *,
        when_missing: dict[str, Any] | None = None,
        known_url: str = "",
    ) -> None:
        self.body, self.when_missing, self.known_url = body, when_missing or body, known_url

    def _answer(self, url: str, *args: object, **kwargs: object) -> FakeResponse:
        missing = self.known_url and url != self.known_url
        return FakeResponse(self.when_missing if missing else self.body)

    get = post = patch = put = delete = _answer


class TestAccessRules:
    def test_it_counts_the_admins_of_a_cpts_as_the_coordination(self, demo) -> None:
        assert is_coordinator(demo["coord"])
        assert not any(is_coordinator(m) for m in everyone_but_the_coordination(demo))
        assert not is_coordinator(None)

    def test_it_does_not_count_admins_of_other_organisations(self) -> None:
        msp_admin = MembershipFactory(
            organisation=OrganisationFactory(), role=Membership.Role.ADMIN
        ).member

        assert not is_coordinator(msp_admin)

    def test_it_does_not_count_an_inactive_coordinator(self, demo) -> None:
        coord = demo["coord"]
        coord.is_active = False

        assert not is_coordinator(coord)
        with pytest.raises(NotFound):
            require_coordinator(coord, what="audit trail")

    def test_it_answers_not_found_naming_only_the_resource(self, demo) -> None:
        require_coordinator(demo["coord"], what="audit trail")

        with pytest.raises(NotFound) as error:
            require_coordinator(demo["dr.martin"], what="audit trail")
        assert (error.value.status_code, error.value.detail) == (404, "audit trail")

    @pytest.mark.parametrize("code", ["not-a-uuid", "5f0c6f4e-0b8a-4c1e-9a53-2f1a4b6d7e80", ""])
    def test_it_turns_every_miss_into_not_found(self, demo, code: str) -> None:
        with pytest.raises(NotFound, match="member"):
            get_or_not_found(Member.objects.all(), "member", code=code)

    def test_it_returns_the_object_found(self, demo) -> None:
        member = demo["ide.petit"]

        assert get_or_not_found(Member.objects.all(), "member", code=member.code) == member
