"""The indicators' monthly aggregates give the table the sheets give, cell for cell.

The reference is the direct computation (`liaison_indicators(source="direct")`), kept for
that purpose and for `rebuild_indicators --verify`. Random data from seeded generators: many
sheets in every state, sent at any second of six months (the cutoff day of "after 30 days"
included), from and to every organisation, letters to members of several organisations.
"""

from __future__ import annotations

import contextlib
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from directory.models import Member, Organisation
from liaison.models import IndicatorCount, LiaisonSheet, SheetParticipant
from liaison.outputs import aggregates
from liaison.outputs.indicators import differences_from_the_sheets, liaison_indicators
from liaison.services import discharge, drafts, transitions
from security.exceptions import InvalidTransition
from tests.outputs.conftest import MINIMAL_DISCHARGE, MINIMAL_PATIENT

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=PARIS)
START, END = date(2025, 10, 1), date(2026, 3, 31)
REFERRAL = {
    "urgency": "routine",
    "reason": "Bilan",
    "medications_none": True,
    "allergies_none_known": True,
}
Status = LiaisonSheet.Status


def some_moment(rng: random.Random) -> datetime:
    """Any microsecond of the six months, and often the day 30 days before NOW, around the
    very moment that separates "more than 30 days ago" from "not yet"."""
    if rng.random() < 0.15:
        cutoff = NOW - timedelta(days=30)
        return cutoff + timedelta(seconds=rng.randint(-40_000, 40_000))
    span = datetime(2026, 3, 31, tzinfo=PARIS) - datetime(2025, 9, 25, tzinfo=PARIS)
    return datetime(2025, 9, 25, tzinfo=PARIS) + span * rng.random()


def random_sheets(rng: random.Random, count: int) -> None:
    """Sheets written directly, in states and with clocks the services never leave together
    (a reopened referral received before its new sending, letters after their discharge)."""
    members = list(Member.objects.all())
    organisations = list(Organisation.objects.exclude(kind="hospital_service"))
    services = list(Organisation.objects.filter(kind="hospital_service"))
    referrals: list[LiaisonSheet] = []
    for _ in range(count):
        sent = some_moment(rng)
        if rng.random() < 0.75 or not referrals:
            status = rng.choice(list(Status))
            received = accepted = None
            if rng.random() < 0.7:
                received = sent + timedelta(minutes=rng.expovariate(1 / 300) - 20)
            if rng.random() < 0.5:
                accepted = sent + timedelta(minutes=rng.expovariate(1 / 2000))
            sheet = LiaisonSheet.objects.create(
                kind="referral",
                status=status,
                author=rng.choice(members),
                sender_organisation=rng.choice(organisations),
                recipient_organisation=rng.choice([*services, *services, None]),
                patient=MINIMAL_PATIENT,
                content=REFERRAL,
                sent_at=None if status == Status.DRAFT else sent,
                received_at=received,
                accepted_at=accepted,
            )
            referrals.append(sheet)
        else:
            status = rng.choice([Status.SENT, Status.SENT, Status.DRAFT])
            sheet = LiaisonSheet.objects.create(
                kind="discharge",
                status=status,
                author=rng.choice(members),
                sender_organisation=rng.choice(services),
                referral=rng.choice([*referrals[-20:], None]),
                document_version=rng.choice([1, 1, 1, 2]),
                patient=MINIMAL_PATIENT,
                content=MINIMAL_DISCHARGE,
                sent_at=None if status == Status.DRAFT else sent,
                discharge_date=rng.choice(
                    [None, (sent - timedelta(days=rng.randint(-1, 6))).astimezone(PARIS).date()]
                ),
            )
            SheetParticipant.objects.bulk_create(
                SheetParticipant(sheet=sheet, member=member, role="recipient")
                for member in rng.sample(members, rng.randint(0, 2))
            )


def every_table() -> list[Organisation | None]:
    return [None, *Organisation.objects.order_by("pk")]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rebuilt_aggregates_give_every_cell_of_the_direct_query(demo, seed) -> None:
    random_sheets(random.Random(seed), 250)
    aggregates.rebuild()
    # Every organisation's table, every month, the period's total, every median and p90.
    assert (
        differences_from_the_sheets(start=START, end=END, organisations=every_table(), moment=NOW)
        == []
    )
    whole = liaison_indicators(start=START, end=END, moment=NOW, counters={})
    assert whole.total is not None
    assert whole.total.referrals_sent > 150  # not an empty table
    assert whole.total.receipt_hours_p90 is not None
    assert whole.total.referrals_without_letter_after_30_days > 0


def test_a_cell_that_differs_is_named(demo) -> None:
    random_sheets(random.Random(4), 60)
    aggregates.rebuild()
    IndicatorCount.objects.filter(scope=0, measure="receipt_m").update(count=5)
    found = differences_from_the_sheets(start=START, end=END, organisations=[None], moment=NOW)
    assert any("receipt_hours_median" in line for line in found), found


def transition(sheet: LiaisonSheet, actor: Member, action: str, **extra: object) -> None:
    # A random path that this state does not allow answers 409: the figures must not move.
    with contextlib.suppress(InvalidTransition):
        transitions.transition_referral(actor=actor, sheet=sheet, action=action, **extra)


def test_transitions_keep_the_aggregates_as_a_rebuild_would(demo) -> None:
    """Random loops through the services, each step at a random later moment."""
    rng = random.Random(5)
    gp, cardio = demo["dr.martin"], demo["hop.cardio"]
    cardiologie = Organisation.objects.get(name="Cardiologie")
    actions = [
        ("receive", cardio, {}),
        ("accept", cardio, {"planned_date": date(2026, 4, 1)}),
        ("decline", cardio, {"note": "Pas de place"}),
        ("cancel", gp, {"note": "Plus nécessaire"}),
        ("no_show", cardio, {}),
        ("reopen", gp, {"note": "Nouveau rendez-vous"}),
        ("close", gp, {}),
    ]
    for _ in range(25):
        moment = some_moment(rng)
        with time_machine.travel(moment, tick=False):
            sheet = drafts.create_draft(
                actor=gp,
                kind="referral",
                patient=MINIMAL_PATIENT,
                content=REFERRAL,
                recipient_organisation=cardiologie,
            )
            sheet = transitions.send_sheet(actor=gp, sheet=sheet)
        for _ in range(rng.randint(0, 4)):
            moment += timedelta(minutes=rng.expovariate(1 / 600))
            with time_machine.travel(moment, tick=False):
                action, actor, extra = rng.choice(actions)
                transition(sheet, actor, action, **extra)
                sheet.refresh_from_db()
        if sheet.status == Status.ACCEPTED and rng.random() < 0.6:
            moment += timedelta(days=rng.randint(0, 3))
            with time_machine.travel(moment, tick=False):
                letter = discharge.start_discharge_letter(actor=cardio, referral=sheet)
                content = {**MINIMAL_DISCHARGE, "admission_date": "2025-09-01"}
                content["discharge_date"] = (moment - timedelta(days=rng.randint(0, 3))).date()
                content["discharge_date"] = content["discharge_date"].isoformat()
                letter = drafts.update_draft(
                    actor=cardio, sheet=letter, expected_version=letter.version, content=content
                )
                transitions.send_sheet(actor=cardio, sheet=letter)  # closes the referral
    kept = set(
        IndicatorCount.objects.exclude(count=0).values_list(
            "scope", "month", "measure", "bucket", "count"
        )
    )
    aggregates.rebuild()
    rebuilt = set(
        IndicatorCount.objects.values_list("scope", "month", "measure", "bucket", "count")
    )
    assert kept == rebuilt
    assert LiaisonSheet.objects.filter(status=Status.CLOSED).exists()
    assert (
        differences_from_the_sheets(start=START, end=END, organisations=every_table(), moment=NOW)
        == []
    )


def test_a_retried_send_counts_once(demo) -> None:
    gp = demo["dr.martin"]
    cardiologie = Organisation.objects.get(name="Cardiologie")
    sheet = drafts.create_draft(
        actor=gp,
        kind="referral",
        patient=MINIMAL_PATIENT,
        content=REFERRAL,
        recipient_organisation=cardiologie,
    )
    transitions.send_sheet(actor=gp, sheet=sheet, idempotency_key="once")
    transitions.send_sheet(actor=gp, sheet=sheet, idempotency_key="once")  # the client retries
    with pytest.raises(InvalidTransition):
        transitions.send_sheet(actor=gp, sheet=sheet)  # a second send: 409, nothing counted
    sent = IndicatorCount.objects.filter(scope=0, measure="sent").values_list("count", flat=True)
    assert list(sent) == [1]
    # The whole CPTS, the GP's practice, the service and its hospital: once each.
    assert IndicatorCount.objects.filter(measure="sent", count=1).count() == 4


def test_a_period_that_cuts_a_month_is_computed_from_the_sheets(demo) -> None:
    random_sheets(random.Random(6), 80)
    aggregates.rebuild()
    IndicatorCount.objects.all().delete()  # the aggregates are not read for such a period
    start, end = date(2025, 10, 15), date(2026, 2, 10)
    table = liaison_indicators(start=start, end=end, moment=NOW, counters={})
    reference = liaison_indicators(start=start, end=end, moment=NOW, counters={}, source="direct")
    assert table == reference
    assert table.total is not None
    assert table.total.referrals_sent > 0


def test_the_command_rebuilds_and_verifies(demo, capsys) -> None:
    random_sheets(random.Random(7), 40)
    call_command("rebuild_indicators", "--verify")
    assert "tables agree with the sheets" in capsys.readouterr().out
    IndicatorCount.objects.filter(measure="sent").update(count=0)
    with pytest.raises(CommandError, match="referrals_sent"):
        call_command("rebuild_indicators", "--verify", "--no-rebuild")
