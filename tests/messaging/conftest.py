"""Messaging personas and helpers: the demo CPTS, a conversation, files to attach."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from directory.models import Member
from messaging.models import Conversation
from messaging.services import conversations, messages
from messaging.services.messages import Upload
from tests.liaison.conftest import cardiologie, make_referral  # noqa: F401  (fixtures)

API = "/api/v1/conversations/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"ordonnance de sortie " * 100
PATIENT = {
    "identity_status": "QUAL",
    "ins": "279035121518989",
    "birth_family_name": "Lefèvre",
    "used_family_name": "Moreau",
    "given_names": "Éloïse Marie",
    "birth_date": "1979-03-15",
    "sex": "F",
    "birth_place_insee": "51215",
}
OUTSIDERS = ["dr.leroy", "ide.petit", "hop.cardio", "as.moreau", "coord"]
"""Demo members with no part in dr.martin's conversation with pharma.durand."""


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def gp(demo: dict[str, Member]) -> Member:
    return demo["dr.martin"]


@pytest.fixture
def pharmacist(demo: dict[str, Member]) -> Member:
    return demo["pharma.durand"]


@pytest.fixture
def start(demo: dict[str, Member]) -> Callable[..., Conversation]:
    """`start(author="dr.martin", to=["pharma.durand"], body="...")` through the service."""

    def make(
        *,
        author: str = "dr.martin",
        to: tuple[str, ...] = ("pharma.durand",),
        subject: str = "Traitement de sortie",
        **kwargs: Any,
    ) -> Conversation:
        return conversations.start_conversation(
            actor=demo[author], subject=subject, participants=[demo[name] for name in to], **kwargs
        )

    return make


@pytest.fixture
def conversation(start: Callable[..., Conversation]) -> Conversation:
    """dr.martin writes to pharma.durand: one message, unread."""
    return start(body="Le ramipril est-il bien arrêté ?")


def say(member: Member, conversation: Conversation, body: str = "Bonjour", **kwargs: Any):
    return messages.post_message(
        actor=member, conversation=conversation, body=body, **kwargs
    ).message


def pdf_upload(name: str = "ordonnance.pdf", content: bytes = PDF) -> Upload:
    return Upload(io.BytesIO(content), name, len(content))


@pytest.fixture
def make_sheet(make_referral: Callable[..., Any]) -> Callable[..., Any]:  # noqa: F811
    """dr.martin's sent referral to cardiologie, copying ide.petit (tests/liaison/conftest.py)."""
    return make_referral
