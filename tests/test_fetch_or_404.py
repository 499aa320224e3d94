"""Every access_* selector answers a malformed id as it answers a missing one: NotFound (404).

The copies used to disagree: some caught only ValueError, while Django reports a malformed
UUID as a ValidationError, which became a 400 in the API and a 500 on the pages. They now
all go through security.access.get_or_not_found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from directory import selectors as directory_selectors
from directory.tokens import selectors as token_selectors
from liaison import selectors as liaison_selectors
from messaging import selectors as messaging_selectors
from protocols import selectors as protocol_selectors
from protocols.models import Protocol
from protocols.services import drafting
from security.exceptions import NotFound
from tests.protocols.conftest import content
from worker import selectors as worker_selectors

pytestmark = pytest.mark.django_db
MALFORMED = "pas-un-identifiant"


def a_protocol(demo: dict[str, Any]) -> Protocol:
    return drafting.create_protocol(
        actor=demo["coord"], kind=Protocol.Kind.LOCAL, reference="", themes=[], content=content()
    )


ACCESSES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "access_sheet": lambda demo: liaison_selectors.access_sheet(demo["coord"], MALFORMED),
    "liaison access_attachment": lambda demo: liaison_selectors.access_attachment(
        demo["coord"], MALFORMED, MALFORMED
    ),
    "access_protocol": lambda demo: protocol_selectors.access_protocol(demo["coord"], MALFORMED),
    "access_version": lambda demo: protocol_selectors.access_version(
        demo["coord"], a_protocol(demo), 2**40
    ),
    "access_participation": lambda demo: protocol_selectors.access_participation(
        a_protocol(demo), MALFORMED
    ),
    "access_conversation": lambda demo: messaging_selectors.access_conversation(
        demo["coord"], MALFORMED
    ),
    "messaging access_attachment": lambda demo: messaging_selectors.access_attachment(
        demo["coord"], MALFORMED, MALFORMED, token=""
    ),
    "access_notification": lambda demo: worker_selectors.access_notification(
        demo["coord"], MALFORMED
    ),
    "access_failed_notification": lambda demo: worker_selectors.access_failed_notification(
        demo["coord"], MALFORMED
    ),
    "access_organisation": lambda demo: directory_selectors.access_organisation(
        demo["coord"], MALFORMED
    ),
    "access_member": lambda demo: directory_selectors.access_member(demo["coord"], MALFORMED),
    "access_token": lambda demo: token_selectors.access_token(demo["coord"], MALFORMED),
}


@pytest.mark.parametrize("name", ACCESSES)
def test_a_malformed_id_is_not_found(demo, name: str) -> None:
    with pytest.raises(NotFound):
        ACCESSES[name](demo)


def test_a_malformed_organisation_in_a_form_is_none(demo) -> None:
    assert liaison_selectors.organisation_by_code(MALFORMED) is None
    assert messaging_selectors.organisation_by_code(MALFORMED) is None
