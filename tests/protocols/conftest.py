"""Protocol personas and documents: the demo CPTS, complete protocols in every state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils.timezone import localdate

from directory.models import Member
from protocols.guide.services import create_theme
from protocols.models import Protocol, ProtocolVersion, Theme
from protocols.services import drafting, lifecycle


def content(**overrides: Any) -> dict[str, Any]:
    """A local cooperation protocol with everything required before review."""
    body: dict[str, Any] = {
        "title": "Chutes des patients sous anticoagulant",
        "legal_reference": "Déclaré à l'ARS le 2 mars 2026",
        "review_date": localdate() + timedelta(days=365),
        "delegant_professions": ["medecin_generaliste"],
        "delegate_professions": ["infirmier", "pharmacien"],
        "objective": "Savoir quoi faire quand un patient traité par anticoagulant tombe.",
        "patients": "Patients sous anticoagulant, à domicile.",
        "exclusion_criteria": "- traumatisme crânien\n- perte de connaissance",
        "steps": "1. Rechercher un hématome.\n2. Prévenir le médecin traitant.\n"
        "3. Surveiller à 24 h.",
        "referral_back": "Traumatisme crânien : urgences sans délai.",
        "training": "Formation de 2 heures sur les anticoagulants.",
    }
    body.update(overrides)
    return body


@pytest.fixture
def themes(db: None) -> dict[str, Theme]:
    return {
        "personnes-agees": create_theme(actor=None, name="Personnes âgées", slug="personnes-agees"),
        "addictions": create_theme(actor=None, name="Addictions", slug="addictions"),
    }


@pytest.fixture
def make_protocol(demo: dict[str, Member]) -> Callable[..., Protocol]:
    """`make_protocol(author=..., kind=..., **content)`: a protocol and its first draft."""

    def make(
        *,
        author: Member | None = None,
        kind: str = Protocol.Kind.LOCAL,
        reference: str = "",
        themes: list[Theme] | None = None,
        **overrides: Any,
    ) -> Protocol:
        return drafting.create_protocol(
            actor=author or demo["coord"],
            kind=kind,
            reference=reference,
            themes=themes or [],
            content=content(**overrides),
        )

    return make


def first_version(protocol: Protocol) -> ProtocolVersion:
    return protocol.versions.order_by("-number").first()


@pytest.fixture
def submitted(demo, make_protocol) -> Callable[..., ProtocolVersion]:
    """`submitted(**content)`: a version in review, with dr.martin as its reviewer."""

    def make(**overrides: Any) -> ProtocolVersion:
        protocol = make_protocol(**overrides)
        return lifecycle.submit_for_review(
            actor=demo["coord"], version=first_version(protocol), reviewers=[demo["dr.martin"]]
        )

    return make


@pytest.fixture
def published(demo, submitted) -> Callable[..., ProtocolVersion]:
    """`published(**content)`: version 1 in force (written by coord, approved by dr.martin)."""

    def make(**overrides: Any) -> ProtocolVersion:
        version = submitted(**overrides)
        lifecycle.approve_version(actor=demo["dr.martin"], version=version)
        return lifecycle.publish_version(actor=demo["coord"], version=version)

    return make


def publish_next(
    demo: dict[str, Member], version: ProtocolVersion, **changes: Any
) -> ProtocolVersion:
    """Draft, edit, review and publish the next version of `version`'s protocol."""
    draft = drafting.draft_new_version(actor=demo["coord"], protocol=version.protocol)
    if changes:
        draft = drafting.update_draft(actor=demo["coord"], version=draft, content=changes)
    draft = lifecycle.submit_for_review(
        actor=demo["coord"], version=draft, reviewers=[demo["dr.martin"]]
    )
    draft = lifecycle.approve_version(actor=demo["dr.martin"], version=draft)
    return lifecycle.publish_version(actor=demo["coord"], version=draft)


def days_ago(days: int) -> date:
    return localdate() - timedelta(days=days)
