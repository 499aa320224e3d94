"""The coordinator's monthly indicators: figures, access, fixed query count, CSV, page, chart."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from directory.models import Member, Organisation
from liaison.models import LiaisonSheet
from liaison.outputs import aggregates
from liaison.outputs.chart import liaison_chart, nice_ceiling
from liaison.outputs.indicators import liaison_indicators, percentile_cont
from liaison.services import discharge, drafts, transitions
from tests.access import assert_hidden_from
from tests.outputs.conftest import MINIMAL_DISCHARGE, MINIMAL_PATIENT
from tests.outputs.stub_counters import MISSING_REGISTRY, STUB_REGISTRY

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=PARIS)
API = "/api/v1/indicators/liaison/"
REFERRAL = {
    "urgency": "routine",
    "reason": "Bilan",
    "medications_none": True,
    "allergies_none_known": True,
}
# From the monthly aggregates, on PostgreSQL and SQLite alike: the months' cells, the minutes
# of the hours that hold a percentile, the open referrals of the day exactly 30 days ago.
QUERIES = 3
# 14 from the aggregates, the patients included in a protocol, tele-expertise: one query on
# PostgreSQL (percentiles in SQL), two on SQLite (the answer times are read); the agenda's
# five (events/indicators.py: events, registrations, presences, scores, first presences).
PAGE_QUERIES = 21 if connection.vendor == "postgresql" else 22


def stamp(sheet: LiaisonSheet, **fields: object) -> LiaisonSheet:
    """Set a sheet's clocks directly (the services stamp "now"), and move the indicators'
    aggregates as a transition does: the difference between before and after."""
    before = aggregates.lock_before_change(sheet.pk)
    LiaisonSheet.objects.filter(pk=sheet.pk).update(**fields)
    sheet.refresh_from_db()
    aggregates.record_change(before, sheet)
    return sheet


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=PARIS)


def referral(
    demo: dict[str, Member],
    sent: datetime,
    *,
    author: str = "dr.martin",
    received_after: float | None = None,
    accepted_after: float | None = None,
    status: str = "",
) -> LiaisonSheet:
    """A sent referral to cardiology whose clock reads as given (hours after sending)."""
    cardiologie = Organisation.objects.get(name="Cardiologie")
    sheet = drafts.create_draft(
        actor=demo[author],
        kind="referral",
        patient=MINIMAL_PATIENT,
        content=REFERRAL,
        recipient_organisation=cardiologie,
    )
    sheet = transitions.send_sheet(actor=demo[author], sheet=sheet)
    stamps = {"sent_at": sent}
    if received_after is not None:
        stamps["received_at"] = sent + timedelta(hours=received_after)
        stamps["status"] = "received"
    if accepted_after is not None:
        stamps["accepted_at"] = sent + timedelta(hours=accepted_after)
        stamps["status"] = "accepted"
    if status:
        stamps["status"] = status
    return stamp(sheet, **stamps)


def letter(
    demo: dict[str, Member],
    sent: datetime,
    discharge_date: str,
    *,
    answering: LiaisonSheet | None = None,
) -> LiaisonSheet:
    cardio = demo["hop.cardio"]
    content = {
        **MINIMAL_DISCHARGE,
        "admission_date": "2026-01-01",
        "discharge_date": discharge_date,
    }
    if answering is not None:
        sheet = discharge.start_discharge_letter(actor=cardio, referral=answering)
        sheet = drafts.update_draft(
            actor=cardio, sheet=sheet, expected_version=sheet.version, content=content
        )
    else:
        sheet = drafts.create_draft(
            actor=cardio,
            kind="discharge",
            patient=MINIMAL_PATIENT,
            content=content,
            participants=[demo["dr.martin"]],
        )
    sheet = transitions.send_sheet(actor=cardio, sheet=sheet)
    return stamp(sheet, sent_at=sent)


@pytest.fixture
def quarter(demo: dict[str, Member]) -> dict[str, LiaisonSheet]:
    """January to March 2026, seen from the 15th of March."""
    sheets = {
        "december": referral(demo, at("2025-12-20"), received_after=1),  # before the table
        "r1": referral(demo, at("2026-01-05", 10), received_after=2, accepted_after=26),
        "r2": referral(
            demo, at("2026-01-10"), author="dr.bernard", received_after=4, status="declined"
        ),
        "r3": referral(demo, at("2026-01-20", 8), received_after=6, accepted_after=10),
        "r4": referral(demo, at("2026-02-03")),
        "r5": referral(demo, at("2026-03-10")),  # open, but not yet 30 days old
    }
    sheets["l1"] = letter(
        demo, at("2026-01-25", 15), "2026-01-25", answering=sheets["r3"]
    )  # same day
    sheets["l2"] = letter(demo, at("2026-02-12", 11), "2026-02-10")  # two days late
    revision = discharge.revise_discharge_letter(actor=demo["hop.cardio"], letter=sheets["l2"])
    revision = transitions.send_sheet(actor=demo["hop.cardio"], sheet=revision)
    stamp(revision, sent_at=at("2026-02-13"))  # completes l2: not a letter
    drafts.create_draft(
        actor=demo["dr.martin"], kind="referral", patient=MINIMAL_PATIENT, content=REFERRAL
    )
    return sheets


def test_it_computes_each_month(quarter) -> None:
    table = liaison_indicators(
        start=date(2026, 1, 1), end=date(2026, 3, 31), moment=NOW, counters=STUB_REGISTRY
    )
    january, february, march = table.months
    assert january.as_dict() == {
        "month": "2026-01",
        "referrals_sent": 3,
        "referrals_received": 3,
        "referrals_accepted": 2,
        "referrals_declined": 1,
        "receipt_hours_median": 4.0,
        "receipt_hours_p90": 5.6,
        "acceptance_hours_median": 18.0,
        "acceptance_hours_p90": 24.4,
        "discharge_letters_sent": 1,
        "discharge_same_day_share": 1.0,
        "discharge_delay_days_median": 0.0,
        "referrals_without_letter_after_30_days": 1,  # r1: accepted in January, no letter since
        "messages_exchanged": 7,
        "protocols_acknowledged": 0,
        "protocols_in_force": 1,
        "protocol_participants": 4,
        "patients_included": 1,
    }
    assert (
        february.referrals_sent,
        february.receipt_hours_median,
        february.discharge_letters_sent,
    ) == (1, None, 1)
    assert (february.discharge_same_day_share, february.discharge_delay_days_median) == (0.0, 2.0)
    assert february.referrals_without_letter_after_30_days == 1  # r4, sent 40 days ago
    assert (february.messages_exchanged, february.protocols_acknowledged) == (3, 2)
    assert march.referrals_sent == 1
    assert march.referrals_without_letter_after_30_days == 0
    assert march.discharge_same_day_share is None  # no letter: no share, not 0 %


def test_the_total_row_sums_flows_keeps_the_last_stocks_and_takes_period_medians(
    quarter,
) -> None:
    table = liaison_indicators(
        start=date(2026, 1, 1), end=date(2026, 3, 31), moment=NOW, counters=STUB_REGISTRY
    )
    total = table.total
    assert total is not None
    assert (total.referrals_sent, total.referrals_received, total.discharge_letters_sent) == (
        5,
        3,
        2,
    )
    assert total.referrals_without_letter_after_30_days == 2
    assert (total.messages_exchanged, total.protocols_acknowledged) == (10, 2)
    # Stocks at the end of the period, not the sum of the months.
    assert (total.protocols_in_force, total.protocol_participants) == (2, 5)
    assert total.patients_included == 3  # a flow: the months summed
    # Medians over every sheet of the period (receipts of 2, 4 and 6 hours), not of the months.
    assert (total.receipt_hours_median, total.receipt_hours_p90) == (4.0, 5.6)
    assert total.acceptance_hours_median == 18.0
    assert total.discharge_same_day_share == 0.5  # one letter of two sent on the day
    assert total.discharge_delay_days_median == 1.0
    assert total.as_dict()["month"] == "period"


def test_it_filters_on_an_organisation(quarter, demo) -> None:
    cabinet = Organisation.objects.get(name="Cabinet médical du Port")
    table = liaison_indicators(
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        organisation=cabinet,
        moment=NOW,
        counters=STUB_REGISTRY,
    )
    assert [
        (m.referrals_sent, m.referrals_declined, m.discharge_letters_sent) for m in table.months
    ] == [(1, 1, 0)]
    hospital = Organisation.objects.get(name="Centre hospitalier de Gien")  # includes its services
    table = liaison_indicators(
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        organisation=hospital,
        moment=NOW,
        counters=STUB_REGISTRY,
    )
    assert table.months[0].referrals_sent == 3
    assert table.months[0].discharge_letters_sent == 1


def test_it_takes_a_fixed_number_of_queries(quarter, demo, django_assert_num_queries) -> None:
    period = {
        "start": date(2026, 1, 1),
        "end": date(2026, 3, 31),
        "moment": NOW,
        "counters": STUB_REGISTRY,
    }
    with django_assert_num_queries(QUERIES):
        liaison_indicators(**period)
    for day in range(1, 25):
        referral(demo, at(f"2026-01-{day:02d}"), received_after=day, accepted_after=day * 2)
        letter(demo, at(f"2026-02-{day:02d}"), f"2026-02-{day:02d}")
    with django_assert_num_queries(QUERIES):
        table = liaison_indicators(**period)
    assert table.months[0].referrals_sent == 27


def test_the_api_answers_the_coordinator(
    client_for, demo, quarter, django_assert_max_num_queries
) -> None:
    client = client_for(demo["coord"])
    with time_machine.travel(NOW, tick=False):
        response = client.get(API, {"from": "2026-01-01", "to": "2026-03-31"})
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["organisation"]) == ("2026-01-01", "2026-03-31", None)
    assert [m["month"] for m in body["months"]] == ["2026-01", "2026-02", "2026-03"]
    assert body["months"][0]["referrals_sent"] == 3
    assert body["months"][0]["receipt_hours_p90"] == 5.6
    assert body["total"]["month"] == "period"
    assert (body["total"]["referrals_sent"], body["total"]["receipt_hours_p90"]) == (5, 5.6)
    # The real providers of the protocols' follow-up answer (figures, not "unavailable").
    assert isinstance(body["months"][2]["protocols_in_force"], int)
    assert isinstance(body["total"]["protocol_participants"], int)
    assert isinstance(body["total"]["patients_included"], int)
    organisation = Organisation.objects.get(name="Cabinet médical du Port")
    filtered = client.get(
        API, {"from": "2026-01-01", "to": "2026-01-31", "organisation": str(organisation.code)}
    )
    assert filtered.json()["organisation"] == str(organisation.code)
    assert filtered.json()["months"][0]["referrals_sent"] == 1


def test_the_api_refuses_bad_periods(client_for, demo) -> None:
    client = client_for(demo["coord"])
    assert "from" in client.get(API, {"from": "2026-03-01", "to": "2026-01-01"}).json()
    assert "to" in client.get(API, {"from": "2000-01-01", "to": "2026-01-01"}).json()
    assert (
        "organisation"
        in client.get(API, {"organisation": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}).json()
    )
    assert "since" in client.get(API, {"since": "2026-01-01"}).json()
    default = client.get(API).json()
    assert len(default["months"]) == 12


def test_only_the_coordinator_sees_the_indicators(client_for, demo, client: Client) -> None:
    others = [demo[name] for name in ("dr.martin", "hop.cardio", "ide.petit", "as.moreau")]
    assert_hidden_from(client_for, "get", API, others)
    assert_hidden_from(client_for, "get", f"{API}csv/", others)
    assert_hidden_from(client_for, "get", f"{API}?from=nonsense", others)  # 404 before any parsing
    client.force_login(demo["dr.martin"].user)
    assert client.get("/indicateurs/").status_code == 404
    assert client.get("/indicateurs/export.csv").status_code == 404


def test_the_csv_is_the_same_table(client_for, demo, quarter) -> None:
    with time_machine.travel(NOW, tick=False):
        response = client_for(demo["coord"]).get(
            f"{API}csv/", {"from": "2026-01-01", "to": "2026-02-28"}
        )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["Mois", "Fiches d'entrée envoyées", "Reçues par le service"]
    assert len(rows) == 4  # two months and the period's total
    assert len(rows[1]) == len(rows[0])
    assert rows[1][0] == "2026-01"  # a spreadsheet sorts it; the page says "janvier 2026"
    assert rows[3][:2] == ["Total de la période", "4"]
    assert rows[0][-3:] == [
        "Protocoles en vigueur (fin de mois)",
        "Professionnels engagés dans un protocole (fin de mois)",
        "Patients inclus dans un protocole",
    ]
    assert rows[1][1] == "3"
    assert rows[1][6] == "5,6"
    assert rows[2][10] == "0,0"
    assert rows[2][5] == ""


def test_the_page_shows_the_table_the_chart_and_the_export(client: Client, demo, quarter) -> None:
    client.force_login(demo["coord"].user)
    with time_machine.travel(NOW, tick=False):
        response = client.get("/indicateurs/", {"from": "2026-01-01", "to": "2026-03-31"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Indicateurs de la boucle ville-hôpital" in page
    assert "<svg" in page
    assert 'class="bar"' in page
    assert "Fiches d'entrée envoyées, par mois</title>" in page  # one measure
    assert '<th scope="row">janvier 2026</th>' in page
    assert "2026-01</th>" not in page
    assert '<tfoot><tr class="total"><th scope="row">Total de la période</th><td>5</td>' in page
    assert 'tabindex="0" role="region"' in page
    assert "Protocoles en vigueur (fin de mois)" in page
    assert "Patients inclus dans un protocole" in page
    assert "n'enregistre pas" not in page  # inclusions are recorded now
    assert "<script" not in page.split("<main", 1)[1]
    assert " style=" not in page
    assert "janv. 26" in page
    assert "Fiches sans lettre de sortie après 30 jours" in page
    assert 'href="/indicateurs/export.csv?from=2026-01-01&amp;to=2026-03-31"' in page
    csv_response = client.get("/indicateurs/export.csv", {"from": "2026-01-01", "to": "2026-03-31"})
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    bad = client.get("/indicateurs/", {"from": "2026-03-01", "to": "2026-01-01"})
    assert bad.status_code == 200
    assert "Le début doit précéder la fin." in bad.content.decode()


def test_an_unavailable_column_shows_a_dash(quarter) -> None:
    table = liaison_indicators(
        start=date(2026, 1, 1), end=date(2026, 1, 31), moment=NOW, counters=MISSING_REGISTRY
    )
    assert table.months[0].messages_exchanged is None
    assert table.months[0].protocols_acknowledged is None
    from liaison.outputs.indicators import format_cell

    assert format_cell("messages_exchanged", None) == "—"


def test_percentiles_and_chart_geometry() -> None:
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([2.0, 4.0, 6.0], 0.9) == pytest.approx(5.6)
    assert [nice_ceiling(v) for v in (0, 0.7, 3, 7, 12, 180)] == [1.0, 1.0, 5.0, 10.0, 20.0, 200.0]
    table = liaison_indicators(
        start=date(2026, 1, 1), end=date(2026, 3, 31), moment=NOW, counters=MISSING_REGISTRY
    )
    chart = liaison_chart(table.months)
    assert not chart.has_data
    assert chart.bars == []


def test_the_chart_draws_one_measure_the_referrals_sent_each_month(quarter) -> None:
    table = liaison_indicators(
        start=date(2026, 1, 1), end=date(2026, 3, 31), moment=NOW, counters=MISSING_REGISTRY
    )
    chart = liaison_chart(table.months)
    assert chart.has_data
    assert [(bar.value, bar.title) for bar in chart.bars] == [
        ("3", "janv. 26 : 3"),
        ("1", "févr. 26 : 1"),
        ("1", "mars 26 : 1"),
    ]
    january, february, _ = chart.bars
    assert january.height == pytest.approx(3 * february.height, abs=0.2)
    assert january.y + january.height == chart.bottom


def test_the_api_takes_as_many_queries_for_many_sheets(
    client_for, demo, quarter, django_assert_max_num_queries
) -> None:
    """Through the API, with the real providers of the other columns: constant too."""

    def client():  # a fresh member each time, as each real request has
        return client_for(Member.objects.get(pk=demo["coord"].pk))

    period = {"from": "2026-01-01", "to": "2026-03-31"}
    with django_assert_max_num_queries(30) as few:
        assert client().get(API, period).status_code == 200
    for day in range(1, 13):
        referral(demo, at(f"2026-02-{day:02d}"), received_after=day)
    with django_assert_max_num_queries(30) as many:
        assert client().get(API, period).json()["months"][1]["referrals_sent"] == 13
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_page_takes_a_fixed_number_of_queries(
    client: Client, demo, quarter, django_assert_num_queries
) -> None:
    """Session, member, the coordinator rule, the organisations of the filter, the liaison
    aggregates and one query per column of the other apps (messages, acknowledgements,
    protocols in force, professionals engaged, patients included): the same for one sheet
    or a hundred."""
    client.force_login(demo["coord"].user)
    period = {"from": "2026-01-01", "to": "2026-03-31"}
    client.get("/indicateurs/", period)  # warm the per-process caches
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(PAGE_QUERIES):
        assert client.get("/indicateurs/", period).status_code == 200
    for day in range(1, 13):
        referral(demo, at(f"2026-02-{day:02d}"), received_after=day)
        letter(demo, at(f"2026-03-{day:02d}"), f"2026-03-{day:02d}")
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(PAGE_QUERIES):
        page = client.get("/indicateurs/", period).content.decode()
    assert '<th scope="row">février 2026</th><td>13</td>' in page


def test_the_csv_takes_as_many_queries_for_many_sheets(
    client_for, demo, quarter, django_assert_max_num_queries
) -> None:
    """The CSV reads the same aggregates: its query count does not follow the sheets."""

    def client():
        return client_for(Member.objects.get(pk=demo["coord"].pk))

    period = {"from": "2026-01-01", "to": "2026-03-31"}
    with django_assert_max_num_queries(30) as few:
        assert client().get(f"{API}csv/", period).status_code == 200
    for day in range(1, 13):
        referral(demo, at(f"2026-02-{day:02d}"), received_after=day, accepted_after=day * 3)
        letter(demo, at(f"2026-03-{day:02d}"), f"2026-03-{day:02d}")
    with django_assert_max_num_queries(30) as many:
        response = client().get(f"{API}csv/", period)
    assert ";13;" in response.content.decode("utf-8-sig").splitlines()[2]  # February's referrals
    assert len(many.captured_queries) == len(few.captured_queries)
