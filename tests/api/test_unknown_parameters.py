"""Every endpoint that reads its query string refuses a parameter it does not know, one way
(config/filters.py): 400, naming the parameter, in French. `format` (DRF's) is known
everywhere, the paginator's parameters wherever there is a paginator, and nowhere else."""

from __future__ import annotations

import pytest

from messaging.services import conversations
from protocols.models import Protocol
from protocols.services import drafting
from tests.protocols.conftest import content

pytestmark = pytest.mark.django_db
UNKNOWN = {"profesion": ["Paramètre inconnu."]}

# (path, who asks, the parameters the endpoint needs anyway, paginated)
ENDPOINTS = [
    pytest.param("/api/v1/organisations/", "ide.petit", {}, True, id="/api/v1/organisations/"),
    pytest.param("/api/v1/members/", "ide.petit", {}, True, id="/api/v1/members/"),
    pytest.param("/api/v1/liaison-sheets/", "dr.martin", {}, True, id="/api/v1/liaison-sheets/"),
    pytest.param("/api/v1/conversations/", "dr.martin", {}, True, id="/api/v1/conversations/"),
    pytest.param("/api/v1/protocols/", "dr.martin", {}, True, id="/api/v1/protocols/"),
    pytest.param("/api/v1/guide/", "dr.martin", {}, False, id="/api/v1/guide/"),
    pytest.param("/api/v1/guide/pdf/", "dr.martin", {}, False, id="/api/v1/guide/pdf/"),
    pytest.param(
        "/api/v1/indicators/liaison/", "coord", {}, False, id="/api/v1/indicators/liaison/"
    ),
    pytest.param(
        "/api/v1/indicators/liaison/csv/", "coord", {}, False, id="/api/v1/indicators/liaison/csv/"
    ),
    pytest.param("/api/v1/audit/", "coord", {"actor": "coord"}, True, id="/api/v1/audit/"),
    pytest.param("/api/v1/auth/tokens/", "dr.martin", {}, True, id="/api/v1/auth/tokens/"),
    pytest.param("/api/v1/notifications/", "dr.martin", {}, True, id="/api/v1/notifications/"),
    pytest.param(
        "/api/v1/notifications/failed/", "coord", {}, True, id="/api/v1/notifications/failed/"
    ),
]


def needed(demo, params: dict[str, str]) -> dict[str, str]:
    """The endpoint's required parameters, members named by login in ENDPOINTS."""
    return {key: str(demo[value].code) for key, value in params.items()}


@pytest.fixture
def conversation(demo):
    return conversations.start_conversation(
        actor=demo["dr.martin"],
        subject="Sortie de Mme L.",
        participants=[demo["pharma.durand"]],
        body="Bonjour",
    )


@pytest.fixture
def protocol(demo) -> Protocol:
    return drafting.create_protocol(
        actor=demo["coord"], kind=Protocol.Kind.LOCAL, reference="", themes=[], content=content()
    )


@pytest.mark.parametrize(("path", "who", "params", "paginated"), ENDPOINTS)
def test_an_unknown_parameter_is_a_400_naming_it(
    client_for, demo, path, who, params, paginated
) -> None:
    response = client_for(demo[who]).get(path, {**needed(demo, params), "profesion": "x"})
    assert response.status_code == 400
    assert response.json() == UNKNOWN


@pytest.mark.parametrize(("path", "who", "params", "paginated"), ENDPOINTS)
def test_format_and_the_pagination_are_known_parameters(
    client_for, demo, path, who, params, paginated
) -> None:
    client = client_for(demo[who])
    query = needed(demo, params)
    assert client.get(path, {**query, "format": "json"}).status_code == 200
    response = client.get(path, {**query, "page": "1", "page_size": "10"})
    if paginated:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert set(response.json()) == {"page", "page_size"}


def test_the_messages_know_their_cursor(client_for, demo, conversation) -> None:
    client = client_for(demo["dr.martin"])
    path = f"/api/v1/conversations/{conversation.code}/messages/"
    assert client.get(path, {"page_size": "10", "format": "json"}).status_code == 200
    response = client.get(path, {"page": "2", "profesion": "x"})
    assert response.status_code == 400
    assert response.json() == {"page": ["Paramètre inconnu."], **UNKNOWN}


def test_the_diff_knows_only_its_two_versions(client_for, demo, protocol) -> None:
    client = client_for(demo["coord"])
    path = f"/api/v1/protocols/{protocol.code}/diff/"
    response = client.get(path, {"profesion": "x", "page": "1"})
    assert response.status_code == 400
    assert response.json() == {"page": ["Paramètre inconnu."], **UNKNOWN}
