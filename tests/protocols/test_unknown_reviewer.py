"""A reviewer id that names no active member is refused, by the API and the pages alike.

The web pages used to drop it silently: the draft went to the reviewers that remained, and
the author never learnt that one of them was missing.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from protocols.models import ProtocolVersion
from protocols.services import lifecycle
from security.exceptions import FieldErrors
from tests.protocols.conftest import first_version

pytestmark = pytest.mark.django_db
UNKNOWN = str(uuid.uuid4())


def web(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_the_service_refuses_an_unknown_reviewer(demo, make_protocol) -> None:
    version = first_version(make_protocol())
    for codes in ([UNKNOWN, str(demo["dr.martin"].code)], ["pas-un-identifiant"]):
        with pytest.raises(FieldErrors) as refused:
            lifecycle.submit_for_review_to(
                actor=demo["coord"], version=version, reviewer_codes=codes
            )
        assert refused.value.fields == {"reviewers": ["Relecteur inconnu."]}
    version.refresh_from_db()
    assert version.status == ProtocolVersion.Status.DRAFT


def test_the_same_reviewer_named_twice_is_one_reviewer(demo, make_protocol) -> None:
    version = first_version(make_protocol())
    code = demo["dr.martin"].code
    version = lifecycle.submit_for_review_to(
        actor=demo["coord"], version=version, reviewer_codes=[str(code), code.hex]
    )
    assert [review.reviewer for review in version.reviews.all()] == [demo["dr.martin"]]


def test_the_api_refuses_an_unknown_reviewer(demo, client_for, make_protocol) -> None:
    protocol = make_protocol()
    response = client_for(demo["coord"]).post(
        f"/api/v1/protocols/{protocol.code}/versions/1/submit/",
        {"reviewers": [UNKNOWN, str(demo["dr.martin"].code)]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"reviewers": ["Relecteur inconnu."]}


def test_the_version_page_shows_the_french_error(demo, make_protocol) -> None:
    protocol = make_protocol()
    client = web(demo["coord"])
    response = client.post(
        f"/protocoles/{protocol.code}/versions/1/action/submit/",
        {"reviewers": [UNKNOWN, str(demo["dr.martin"].code)]},
        follow=True,
    )
    assert "Relecteur inconnu." in response.content.decode()
    assert first_version(protocol).status == ProtocolVersion.Status.DRAFT


def test_the_editor_shows_the_french_error(demo, make_protocol) -> None:
    protocol = make_protocol()
    version = first_version(protocol)
    response = web(demo["coord"]).post(
        f"/protocoles/{protocol.code}/versions/1/modifier/",
        {
            "revision": str(version.revision),
            "title": version.title,
            "review_date": version.review_date.isoformat(),
            "delegant_professions": version.delegant_professions,
            "delegate_professions": version.delegate_professions,
            "objective": version.objective,
            "patients": version.patients,
            "exclusion_criteria": version.exclusion_criteria,
            "steps": version.steps,
            "referral_back": version.referral_back,
            "training": version.training,
            "reviewers": [UNKNOWN, str(demo["dr.martin"].code)],
            "submit": "",
        },
    )
    assert response.status_code == 400
    assert "Relecteur inconnu." in response.content.decode()
    assert first_version(protocol).status == ProtocolVersion.Status.DRAFT
