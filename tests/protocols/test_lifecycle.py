"""The version lifecycle through the API: draft → in review → published → superseded / retired.

Every forbidden transition answers 409 with the version's current state.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils.timezone import now

from protocols.models import Protocol, ProtocolReview, ProtocolVersion
from protocols.services import lifecycle
from security.models import AuditEntry
from tests.protocols.conftest import first_version, publish_next
from worker.models import Notification

pytestmark = pytest.mark.django_db
VersionStatus = ProtocolVersion.Status


def url(version: ProtocolVersion, action: str = "") -> str:
    base = f"/api/v1/protocols/{version.protocol.code}/versions/{version.number}/"
    return f"{base}{action}/" if action else base


@pytest.fixture
def version_in(demo, make_protocol, submitted, published):
    """`version_in(state)`: a version of a new protocol in that state."""

    def make(state: str) -> ProtocolVersion:
        if state == "draft":
            return first_version(make_protocol())
        if state == "in_review":
            return submitted()
        version = published()
        if state == "superseded":
            publish_next(demo, version, steps="1. Nouvelle étape.")
            version.refresh_from_db()
        elif state == "retired":
            version = lifecycle.retire_version(actor=demo["coord"], version=version)
        return version

    return make


ACTIONS = {
    "edit": ("patch", "", {"objective": "Changé."}),
    "submit": ("post", "submit", None),
    "approve": ("post", "approve", {}),
    "request_changes": ("post", "request-changes", {"comment": "À revoir."}),
    "publish": ("post", "publish", None),
    "retire": ("post", "retire", None),
    "acknowledge": ("post", "acknowledge", None),
}
ALLOWED = {
    "draft": {"edit", "submit"},
    "in_review": {"approve", "request_changes"},
    "published": {"retire", "acknowledge"},
    "superseded": set(),
    "retired": set(),
}
FORBIDDEN = [
    (state, action) for state in ALLOWED for action in ACTIONS if action not in ALLOWED[state]
]


@pytest.mark.parametrize(("state", "action"), FORBIDDEN, ids=[f"{s}-{a}" for s, a in FORBIDDEN])
def test_every_forbidden_transition_is_a_409_with_the_current_state(
    demo, client_for, version_in, state, action
) -> None:
    version = version_in(state)
    method, path, body = ACTIONS[action]
    if action == "submit":
        body = {"reviewers": [str(demo["dr.martin"].code)]}
    # The coordination sees every version and may attempt anything: only the state refuses.
    response = getattr(client_for(demo["coord"]), method)(url(version, path), body, format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["status"] == state
    version.refresh_from_db()
    assert version.status == state  # nothing moved


def test_the_whole_lifecycle(demo, client_for, make_protocol) -> None:
    coord, martin = client_for(demo["coord"]), client_for(demo["dr.martin"])
    version = first_version(make_protocol())
    response = coord.post(
        url(version, "submit"), {"reviewers": [str(demo["dr.martin"].code)]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "in_review"
    assert Notification.objects.filter(
        event="protocols.review_requested", recipient=demo["dr.martin"]
    ).exists()

    response = martin.post(url(version, "approve"), {"comment": "Très clair."}, format="json")
    assert response.status_code == 200
    assert response.json()["reviews"][0]["decision"] == "approved"
    assert Notification.objects.filter(
        event="protocols.version_approved", recipient=demo["coord"]
    ).exists()

    response = coord.post(url(version, "publish"))
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    protocol = Protocol.objects.get(pk=version.protocol_id)
    assert protocol.status == Protocol.Status.PUBLISHED
    assert protocol.current_version_id == version.pk
    actions = set(
        AuditEntry.objects.filter(target_code=version.code).values_list("action", flat=True)
    )
    assert {
        "protocol_version.submit",
        "protocol_version.approve",
        "protocol_version.publish",
    } <= actions


def test_publishing_supersedes_the_previous_version_which_stays_readable(
    demo, client_for, published
) -> None:
    first = published()
    second = publish_next(demo, first, steps="1. Appeler le 15.")
    first.refresh_from_db()
    assert (first.status, second.status) == (VersionStatus.SUPERSEDED, VersionStatus.PUBLISHED)
    assert first.superseded_at is not None
    assert second.protocol.current_version_id == second.pk
    response = client_for(demo["ide.petit"]).get(url(first))
    assert response.status_code == 200
    assert response.json()["status"] == "superseded"


def test_publishing_needs_every_reviewer_to_approve(demo, client_for, make_protocol) -> None:
    version = first_version(make_protocol())
    lifecycle.submit_for_review(
        actor=demo["coord"], version=version, reviewers=[demo["dr.martin"], demo["ide.petit"]]
    )
    lifecycle.approve_version(actor=demo["dr.martin"], version=version)
    response = client_for(demo["coord"]).post(url(version, "publish"))
    assert response.status_code == 409
    assert response.json()["status"] == "in_review"
    assert response.json()["waiting_for"] == ["Julie Petit"]
    lifecycle.approve_version(actor=demo["ide.petit"], version=version)
    assert client_for(demo["coord"]).post(url(version, "publish")).status_code == 200


def test_a_reviewer_decides_once_per_round(demo, client_for, submitted) -> None:
    version = submitted()
    martin = client_for(demo["dr.martin"])
    assert martin.post(url(version, "approve"), {}, format="json").status_code == 200
    again = martin.post(url(version, "approve"), {}, format="json")
    assert again.status_code == 409
    assert again.json()["decision"] == "approved"
    assert (
        martin.post(url(version, "request-changes"), {"comment": "x"}, format="json").status_code
        == 409
    )


def test_requested_changes_send_the_draft_back_for_a_new_round(demo, client_for, submitted) -> None:
    version = submitted()
    response = client_for(demo["dr.martin"]).post(
        url(version, "request-changes"), {"comment": "Préciser le délai."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert Notification.objects.filter(
        event="protocols.changes_requested", recipient=demo["coord"]
    ).exists()
    coord = client_for(demo["coord"])
    assert (
        coord.patch(url(version), {"referral_back": "Sous 2 heures."}, format="json").status_code
        == 200
    )
    response = coord.post(url(version, "submit"), {}, format="json")  # the same reviewers again
    assert response.status_code == 200
    assert response.json()["review_round"] == 2
    reviews = ProtocolReview.objects.filter(version=version).order_by("round")
    assert [(r.round, r.decision) for r in reviews] == [(1, "changes_requested"), (2, "pending")]


def test_requesting_changes_needs_a_comment(demo, client_for, submitted) -> None:
    version = submitted()
    response = client_for(demo["dr.martin"]).post(
        url(version, "request-changes"), {"comment": ""}, format="json"
    )
    assert response.status_code == 400


def test_a_published_version_is_never_edited_a_new_one_is_drafted_from_it(
    demo, client_for, published
) -> None:
    version = published()
    coord = client_for(demo["coord"])
    response = coord.patch(url(version), {"steps": "Autre chose."}, format="json")
    assert response.status_code == 409
    assert response.json()["status"] == "published"
    response = coord.post(f"/api/v1/protocols/{version.protocol.code}/versions/", {}, format="json")
    assert response.status_code == 201
    draft = response.json()
    assert (draft["number"], draft["status"], draft["based_on"]) == (2, "draft", 1)
    assert draft["steps"] == version.steps
    # Only one version in preparation at a time.
    again = coord.post(f"/api/v1/protocols/{version.protocol.code}/versions/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["open_version"] == 2


def test_a_draft_is_edited_not_copied(demo, client_for, make_protocol) -> None:
    version = first_version(make_protocol())
    response = client_for(demo["coord"]).post(
        f"/api/v1/protocols/{version.protocol.code}/versions/", {"source": 1}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["status"] == "draft"


def test_the_database_allows_one_published_version_per_protocol(demo, published) -> None:
    version = published()
    second = ProtocolVersion.objects.create(
        protocol=version.protocol,
        number=2,
        author=demo["coord"],
        title="v2",
        status=VersionStatus.SUPERSEDED,
        published_at=now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ProtocolVersion.objects.filter(pk=second.pk).update(status=VersionStatus.PUBLISHED)


def test_the_database_allows_one_open_version_per_protocol(demo, make_protocol) -> None:
    protocol = make_protocol()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProtocolVersion.objects.create(
            protocol=protocol, number=2, author=demo["coord"], title="bis"
        )


def test_a_stale_edit_is_412(demo, client_for, make_protocol) -> None:
    version = first_version(make_protocol())
    coord = client_for(demo["coord"])
    etag = coord.get(url(version))["ETag"]
    assert (
        coord.patch(url(version), {"objective": "A"}, format="json", HTTP_IF_MATCH=etag).status_code
        == 200
    )
    stale = coord.patch(url(version), {"objective": "B"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    version.refresh_from_db()
    assert version.objective == "A"


def test_submitting_lists_what_is_missing(demo, client_for, make_protocol) -> None:
    version = first_version(make_protocol(steps="", delegate_professions=[], review_date=None))
    response = client_for(demo["coord"]).post(url(version, "submit"), {}, format="json")
    assert response.status_code == 400
    assert {"steps", "delegate_professions", "review_date", "reviewers"} <= set(response.json())


def test_the_author_cannot_review_their_own_version(demo, client_for, make_protocol) -> None:
    version = first_version(make_protocol())
    response = client_for(demo["coord"]).post(
        url(version, "submit"), {"reviewers": [str(demo["coord"].code)]}, format="json"
    )
    assert response.status_code == 400
    assert "reviewers" in response.json()


def test_only_named_reviewers_decide_and_only_editors_edit(demo, client_for, submitted) -> None:
    version = submitted()
    # The coordination sees the version but is not a reviewer of it: 403, not 404.
    assert (
        client_for(demo["coord"]).post(url(version, "approve"), {}, format="json").status_code
        == 403
    )
    lifecycle.request_changes(actor=demo["dr.martin"], version=version, comment="Revoir")
    response = client_for(demo["dr.martin"]).patch(url(version), {"objective": "x"}, format="json")
    assert response.status_code == 403


def test_retiring_leaves_the_protocol_without_a_version_in_force(
    demo, client_for, published
) -> None:
    version = published()
    response = client_for(demo["coord"]).post(url(version, "retire"))
    assert response.status_code == 200
    protocol = Protocol.objects.get(pk=version.protocol_id)
    assert (protocol.status, protocol.current_version) == (Protocol.Status.RETIRED, None)
    # Still readable by everyone, for the record.
    assert (
        client_for(demo["as.moreau"]).get(f"/api/v1/protocols/{protocol.code}/").status_code == 200
    )


def test_only_the_creator_and_the_coordination_retire(demo, client_for, published) -> None:
    version = published()
    assert client_for(demo["dr.martin"]).post(url(version, "retire")).status_code == 403
