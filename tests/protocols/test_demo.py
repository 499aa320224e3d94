"""The demo protocols and guide load idempotently and show every part of the feature."""

from __future__ import annotations

import pytest

from protocols.demo import load_protocols
from protocols.models import Acknowledgement, OfficeHours, Protocol, ProtocolVersion, Theme
from protocols.selectors import acknowledgement_overview

pytestmark = pytest.mark.django_db


def test_it_loads_the_demo_twice_without_duplicates(demo) -> None:
    assert load_protocols(demo) == 3
    counts = (
        Protocol.objects.count(),
        ProtocolVersion.objects.count(),
        Theme.objects.count(),
        OfficeHours.objects.count(),
        Acknowledgement.objects.count(),
    )
    assert load_protocols(demo) == 0
    assert (
        Protocol.objects.count(),
        ProtocolVersion.objects.count(),
        Theme.objects.count(),
        OfficeHours.objects.count(),
        Acknowledgement.objects.count(),
    ) == counts
    assert counts[:3] == (3, 4, 6)


def test_the_local_protocol_has_two_versions(demo) -> None:
    load_protocols(demo)
    fall = Protocol.objects.get(reference="CHUTE-01")
    assert fall.kind == Protocol.Kind.PLURIPROFESSIONAL
    assert list(fall.versions.values_list("number", "status")) == [
        (1, "superseded"),
        (2, "published"),
    ]
    assert fall.current_version.number == 2
    overview = acknowledgement_overview(fall)
    assert [ack.member for ack in overview.acknowledged] == [demo["dr.martin"]]
    # A pluriprofessional protocol concerns every GP, nurse and pharmacist, registered or not.
    assert set(overview.pending) == {
        demo["ide.petit"],
        demo["pharma.durand"],
        demo["dr.leroy"],
        demo["dr.bernard"],
    }
    national = Protocol.objects.filter(
        kind=Protocol.Kind.NATIONAL, status=Protocol.Status.PUBLISHED
    )
    assert national.count() == 2


def test_the_demo_includes_patients_in_the_cystitis_protocol_once(demo) -> None:
    from protocols.models import Inclusion
    from protocols.selectors import inclusion_counts

    load_protocols(demo)
    load_protocols(demo)
    cystitis = Protocol.objects.get(reference="NAT-CYSTITE")
    counts = inclusion_counts(cystitis)
    assert (counts.total, counts.ongoing, counts.by_reason["completed"]) == (3, 2, 1)
    assert set(Inclusion.objects.values_list("included_by", flat=True)) == {
        demo["pharma.durand"].pk,
        demo["ide.petit"].pk,
    }
