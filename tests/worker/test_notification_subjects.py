"""Notifications name what they are about, without patient data (issue #16).

The notification keeps a reference to its target; the words are rendered when shown, by the
describer its app registers (liaison.events, protocols.events, messaging.events), and folded
when identical ("3 lettres de sortie de Cardiologie").
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from directory.models import Member, Organisation
from liaison import events as liaison_events
from liaison.models import LiaisonSheet, SheetParticipant
from protocols import events as protocol_events
from protocols.models import Protocol
from worker.dispatch import deliver_notification
from worker.emails import send_digest_email
from worker.models import Notification, NotificationPreference
from worker.selectors import notification_lines, notification_subjects, notification_texts
from worker.services import enqueue_notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def cardiologie(demo: dict[str, Member]) -> Organisation:
    return Organisation.objects.get(name="Cardiologie")


def letter(demo: dict[str, Member], service: Organisation, day: date) -> LiaisonSheet:
    """A discharge letter sent to dr.martin (who may see it: he is its recipient)."""
    sheet = LiaisonSheet.objects.create(
        kind=LiaisonSheet.Kind.DISCHARGE,
        status=LiaisonSheet.Status.SENT,
        sent_at=now(),
        author=demo["hop.cardio"],
        sender_organisation=service,
        patient={"birth_family_name": "Lefèvre", "given_names": "Éloïse"},
        discharge_date=day,
    )
    SheetParticipant.objects.create(
        sheet=sheet, member=demo["dr.martin"], role=SheetParticipant.Role.RECIPIENT
    )
    return sheet


def tell(demo: dict[str, Member], event: str, target: Any, **kwargs: Any) -> Notification:
    return enqueue_notification(
        recipient=demo["dr.martin"],
        event=event,
        target=target,
        actor=demo["hop.cardio"],
        url="/notifications/",
        **kwargs,
    )


def inbox(demo: dict[str, Member]) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=demo["dr.martin"])
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


def test_a_discharge_letter_is_named_by_its_service_and_date(demo, cardiologie) -> None:
    sheet = letter(demo, cardiologie, date(2026, 12, 3))
    notification = tell(demo, liaison_events.DISCHARGE_SENT, sheet)

    [text] = notification_texts([notification])

    assert text.endswith("— Lettre de sortie de Cardiologie du 03/12/2026")
    assert "Lefèvre" not in text
    # Nothing but the reference is stored: the words are rendered from the target.
    stored = Notification.objects.filter(pk=notification.pk).values().get()
    assert "Cardiologie" not in str(stored)


def test_a_protocol_is_named_by_its_current_title(demo) -> None:
    protocol = Protocol.objects.create(
        title="Renouvellement du traitement de l'HTA",
        kind=Protocol.Kind.PLURIPROFESSIONAL,
        status=Protocol.Status.PUBLISHED,
        created_by=demo["coord"],
    )
    notification = tell(demo, protocol_events.VERSION_PUBLISHED, protocol)
    Protocol.objects.filter(pk=protocol.pk).update(title="Suivi de l'HTA")

    [text] = notification_texts([notification])

    assert text.startswith("Nouvelle version d'un protocole publiée par ")
    assert text.endswith(" — « Suivi de l'HTA »")


def test_a_target_deleted_or_out_of_reach_leaves_the_label_alone(demo, cardiologie) -> None:
    gone, out_of_reach = (letter(demo, cardiologie, date(2026, 12, day)) for day in (2, 3))
    notifications = [tell(demo, liaison_events.NOTE_ADDED, sheet) for sheet in (gone, out_of_reach)]
    SheetParticipant.objects.filter(sheet=gone).delete()
    LiaisonSheet.objects.filter(pk=gone.pk).delete()
    SheetParticipant.objects.filter(sheet=out_of_reach).delete()  # no longer his to see

    assert notification_subjects(notifications) == [None, None]
    assert notification_texts(notifications)[0].startswith("Nouvelle note sur une fiche")


def test_letters_of_one_service_fold_into_one_line(demo, cardiologie) -> None:
    urgences = Organisation.objects.get(name="Urgences")
    for day in (1, 2, 3):
        tell(demo, liaison_events.DISCHARGE_SENT, letter(demo, cardiologie, date(2026, 12, day)))
    tell(demo, liaison_events.DISCHARGE_SENT, letter(demo, urgences, date(2026, 12, 4)))

    lines = notification_lines(inbox(demo))

    assert [(line.count, line.text.split(" — ")[-1]) for line in lines] == [
        (1, "Lettre de sortie de Urgences du 04/12/2026"),
        (3, "3 lettres de sortie de Cardiologie"),
    ]
    assert [text.split(" — ")[-1] for _n, text in lines[1].items] == [
        f"Lettre de sortie de Cardiologie du 0{day}/12/2026" for day in (3, 2, 1)
    ]


def test_identical_lines_without_a_subject_fold_too(notify) -> None:
    notify(), notify(), notify(event="notifications.welcome")

    lines = notification_lines(list(Notification.objects.order_by("-created_at", "-pk")))

    assert [(line.count, line.text) for line in lines] == [
        (1, "Bienvenue sur CPTS Liaison ! Message de Élise Fontaine"),
        (2, "Notification de test demandée par Élise Fontaine (×2)"),
    ]


def test_the_bell_and_the_page_fold_lines_and_say_a_l_instant(
    demo, cardiologie, client: Client
) -> None:
    for day in (1, 2, 3):
        tell(demo, liaison_events.DISCHARGE_SENT, letter(demo, cardiologie, date(2026, 12, day)))
    client.force_login(demo["dr.martin"].user)

    body = client.get("/notifications/").content.decode()

    assert body.count("3 lettres de sortie de Cardiologie") == 2  # the bell and the page
    assert "Lettre de sortie de Cardiologie du 02/12/2026" in body  # inside the folded line
    assert "à l&#x27;instant" in body.split("<h1>")[1]  # the page too, not only the bell
    assert "Lefèvre" not in body


def test_the_bell_costs_one_query_per_kind_of_object(demo, cardiologie, client: Client) -> None:
    protocol = Protocol.objects.create(
        title="Chutes",
        kind=Protocol.Kind.PLURIPROFESSIONAL,
        status=Protocol.Status.PUBLISHED,
        created_by=demo["coord"],
    )
    for day in (1, 2, 3):
        tell(demo, liaison_events.DISCHARGE_SENT, letter(demo, cardiologie, date(2026, 12, day)))
        tell(demo, protocol_events.VERSION_PUBLISHED, protocol)
    client.force_login(demo["dr.martin"].user)

    with CaptureQueriesContext(connection) as context:
        client.get("/annuaire/")

    sqls = [q["sql"] for q in context.captured_queries]
    assert len([q for q in sqls if 'FROM "worker_notification"' in q]) == 2
    assert len([q for q in sqls if 'FROM "liaison_liaisonsheet"' in q]) == 1
    assert len([q for q in sqls if 'FROM "protocols_protocol"' in q]) == 1


def test_e_mails_name_the_letter_but_never_the_patient(demo, cardiologie) -> None:
    NotificationPreference.objects.create(
        member=demo["dr.martin"], event=liaison_events.DISCHARGE_SENT, channel="email"
    )
    sheet = letter(demo, cardiologie, date(2026, 12, 3))
    notification = tell(demo, liaison_events.DISCHARGE_SENT, sheet)

    deliver_notification(notification_id=notification.pk)

    [email] = mail.outbox
    assert "Lettre de sortie de Cardiologie du 03/12/2026" in email.body
    assert "Lefèvre" not in email.subject + email.body


def test_the_digest_names_each_object(demo, cardiologie) -> None:
    tell(demo, liaison_events.DISCHARGE_SENT, letter(demo, cardiologie, date(2026, 12, 3)))

    send_digest_email(demo["dr.martin"], inbox(demo), key="test")

    [email] = mail.outbox
    assert "Lettre de sortie de Cardiologie du 03/12/2026" in email.body
    assert "Lefèvre" not in email.body


def test_the_api_names_the_object_for_one_query_per_kind_of_object(
    demo, cardiologie, client_for, django_assert_num_queries
) -> None:
    for day in range(1, 11):
        tell(demo, liaison_events.DISCHARGE_SENT, letter(demo, cardiologie, date(2026, 12, day)))
    client = client_for(demo["dr.martin"])

    # unread count, page count, page with the actors; the reader's organisations (once per
    # request, for the access rule) and the sheets they are about, however many
    with django_assert_num_queries(3 + 2):
        response = client.get("/api/v1/notifications/")

    texts = [item["text"] for item in response.json()["results"]]
    assert texts[0].endswith("— Lettre de sortie de Cardiologie du 10/12/2026")
    assert len(texts) == 10
    assert not any("Lefèvre" in text for text in texts)


def test_a_draft_protocol_is_named_only_to_those_who_may_see_it(demo) -> None:
    """The describers' reads are compiled (security.compiled): each reader's own rule still
    decides, the coordinator's (every protocol) as the others' (published, or their own)."""
    draft = Protocol.objects.create(
        title="Plaies chroniques",
        kind=Protocol.Kind.PLURIPROFESSIONAL,
        status=Protocol.Status.DRAFT,
        created_by=demo["ide.petit"],
    )
    named = {}
    for login in ("coord", "ide.petit", "dr.martin"):
        notification = enqueue_notification(
            recipient=demo[login],
            event=protocol_events.VERSION_PUBLISHED,
            target=draft,
            actor=demo["hop.cardio"],
            url="/notifications/",
        )
        [subject] = notification_subjects([notification], reader=demo[login])
        named[login] = subject.text if subject else None

    assert named == {
        "coord": "« Plaies chroniques »",
        "ide.petit": "« Plaies chroniques »",
        "dr.martin": None,
    }
