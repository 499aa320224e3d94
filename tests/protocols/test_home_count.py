"""The home page's count of protocols the member takes part in and has not acknowledged."""

from __future__ import annotations

import pytest

from protocols.selectors import protocols_to_acknowledge
from protocols.services import participation

pytestmark = pytest.mark.django_db


def test_a_protocol_counts_until_its_version_in_force_is_acknowledged(demo, published) -> None:
    version = published(training="")
    pharmacist = demo["pharma.durand"]
    assert protocols_to_acknowledge(pharmacist) == 0  # not taking part: nothing to acknowledge
    participation.register_participant(
        actor=pharmacist, protocol=version.protocol, member=pharmacist, role="delegate"
    )
    assert protocols_to_acknowledge(pharmacist) == 1

    participation.acknowledge_version(actor=pharmacist, version=version)

    assert protocols_to_acknowledge(pharmacist) == 0
