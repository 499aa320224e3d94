"""Tele-expertise fixtures: a dermatology service with its expert, a complete request body."""

from __future__ import annotations

from typing import Any

import pytest

from directory.models import Member, Organisation
from tests.factories import member_in
from tests.liaison.conftest import TEST_INS, cardiologie  # noqa: F401 (a fixture here too)

API = "/api/v1/expertise-requests/"
PHOTO = (  # a 1x1 PNG: an image attachment the expert sees inline
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\x81"
    b"\xdc\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def dermatologie(demo: dict[str, Member]) -> Organisation:
    """The demo's dermatology service (created here when the demo does not hold it yet)."""
    hospital = Organisation.objects.get(kind=Organisation.Kind.HOSPITAL)
    service, _created = Organisation.objects.get_or_create(
        name="Dermatologie", kind=Organisation.Kind.HOSPITAL_SERVICE, defaults={"parent": hospital}
    )
    return service


@pytest.fixture
def derm(demo: dict[str, Member], dermatologie: Organisation) -> Member:
    """dr.derm, the dermatologist who answers."""
    existing = Member.objects.filter(user__username="dr.derm").first()
    if existing is not None:
        return existing
    return member_in(
        dermatologie,
        user__username="dr.derm",
        family_name="Dubois",
        given_name="Lucie",
        profession=Member.Profession.SPECIALIST,
        specialty="Dermatologie",
    )


@pytest.fixture
def derm2(dermatologie: Organisation) -> Member:
    """A second dermatologist of the same service."""
    return member_in(dermatologie, profession=Member.Profession.SPECIALIST)


def request_body(service: Organisation, **overrides: Any) -> dict[str, Any]:
    """A tele-expertise request with every field required to send, as a GP fills it."""
    body: dict[str, Any] = {
        "patient": {
            "identity_status": "QUAL",
            "ins": TEST_INS,
            "birth_family_name": "Lefèvre",
            "given_names": "Éloïse Marie",
            "birth_date": "1979-03-15",
            "sex": "F",
            "birth_place_insee": "51215",
        },
        "recipient_organisation": str(service.code),
        "specialty": "dermatology",
        "urgency": "routine",
        "question": "Lésion pigmentée du dos évolutive depuis 3 mois : exérèse ?",
        "medical_history": "Mélanome chez le père",
        "allergies_none_known": True,
        "patient_consent": True,
    }
    body.update(overrides)
    return body
