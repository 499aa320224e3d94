"""The agenda's indicators, as the territorial action plans name them (docs/events.md):

- **meetings between health and social actors** per month: events (held, not cancelled) at
  which at least one participant of the medical sector and one of the social or
  medico-social sector were present (attendance, not registration);
- **events** and **participants** per month, and the **attendance rate**: present / registered
  (a participant who came without registering counts in both);
- **participants by sector and profession** over the period (present only; each presence
  counts: someone at two events counts twice);
- **satisfaction**: per question, the mean and the distribution of the 1-5 scores of the
  period's events, shown only from SURVEY_MIN_ANSWERS answers (as on an event's results);
- **new members met**: people present at a CPTS event for the first time in the period
  (members by account, external participants by e-mail).

An annual day counts through its sessions (the day itself is not counted as one more event
when it has sessions). Months are those of the event's start, Europe/Paris.

Five queries whatever the number of events, on clear columns only (the case meetings'
patients are never read): events by month, registrations by month, presences by sector and
profession, the survey's scores, and the first presence of everyone present in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.models import Member
from events.models import Event, Registration, Sector, SurveyAnswer
from events.selectors import HEALTH_SECTORS, SOCIAL_SECTORS, SURVEY_MIN_ANSWERS, SURVEY_QUESTIONS

REGISTERED = Registration.Status.REGISTERED


@dataclass(frozen=True)
class EventMonth:
    month: date
    events: int
    health_social_meetings: int
    registered: int
    attended: int

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.registered if self.registered else None


@dataclass(frozen=True)
class QuestionScore:
    question: str
    label: str
    answers: int
    mean: float | None
    distribution: list[int]  # counts of 1..5; empty below the minimum of answers


@dataclass
class EventIndicators:
    start: date
    end: date
    months: list[EventMonth] = field(default_factory=list)
    participants: list[tuple[str, str, int]] = field(default_factory=list)  # sector, job, n
    satisfaction: list[QuestionScore] = field(default_factory=list)
    survey_answers: int = 0
    new_people_met: int = 0

    @property
    def total(self) -> EventMonth:
        return EventMonth(
            month=self.start,
            events=sum(m.events for m in self.months),
            health_social_meetings=sum(m.health_social_meetings for m in self.months),
            registered=sum(m.registered for m in self.months),
            attended=sum(m.attended for m in self.months),
        )


def question_labels() -> dict[str, str]:
    return {
        "usefulness": _("Utilité"),
        "organisation": _("Organisation"),
        "exchanges": _("Échanges entre professionnels"),
        "practice": _("Effet sur la pratique"),
    }


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _month(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


def _counted_events(since: datetime, until: datetime) -> Any:
    """The period's events that count: held (not cancelled), sessions rather than their day."""
    has_sessions = Event.objects.filter(parent=OuterRef("pk"))
    return Event.objects.filter(
        starts_at__gte=since, starts_at__lt=until, status=Event.Status.SCHEDULED
    ).exclude(Exists(has_sessions))


def event_indicators(start: date, end: date) -> EventIndicators:
    """The agenda's indicators of the period (`start` and `end` included), in five queries."""
    since, until = _bounds(start, end)
    events = _counted_events(since, until)
    present = Registration.objects.filter(event=OuterRef("pk"), attended_at__isnull=False)
    by_month = (
        events.annotate(
            month=TruncMonth("starts_at"),
            health=Exists(present.filter(sector__in=HEALTH_SECTORS)),
            social=Exists(present.filter(sector__in=SOCIAL_SECTORS)),
        )
        .values("month")
        .annotate(events=Count("pk"), mixed=Count("pk", filter=Q(health=True, social=True)))
        .order_by("month")
    )
    registrations = Registration.objects.filter(event__in=events.values("pk"))
    people = (
        registrations.annotate(month=TruncMonth("event__starts_at"))
        .values("month")
        .annotate(
            registered=Count("pk", filter=Q(status=REGISTERED)),
            attended=Count("pk", filter=Q(attended_at__isnull=False)),
        )
        .order_by("month")
    )
    figures = {_month(row["month"]): row for row in people}
    indicators = EventIndicators(start=start, end=end)
    for row in by_month:
        month = _month(row["month"])
        counted = figures.get(month, {})
        indicators.months.append(
            EventMonth(
                month=month,
                events=row["events"],
                health_social_meetings=row["mixed"],
                registered=counted.get("registered", 0),
                attended=counted.get("attended", 0),
            )
        )
    professions = dict(Member.Profession.choices)
    sectors = dict(Sector.choices)
    for row in (
        registrations.filter(attended_at__isnull=False)
        .values("sector", "profession")
        .annotate(count=Count("pk"))
        .order_by("sector", "profession")
    ):
        indicators.participants.append(
            (
                str(sectors.get(row["sector"], row["sector"] or "—")),
                str(professions.get(row["profession"], row["profession"] or "—")),
                row["count"],
            )
        )
    _satisfaction(indicators, events)
    firsts = (
        Registration.objects.filter(attended_at__isnull=False)
        .values("member_id", "external_email")
        .annotate(first=Min("attended_at"))
        .filter(first__gte=since, first__lt=until)
    )
    indicators.new_people_met = firsts.count()
    return indicators


def _satisfaction(indicators: EventIndicators, events: Any) -> None:
    scores = list(
        SurveyAnswer.objects.filter(event__in=events.values("pk")).values_list("scores", flat=True)
    )
    indicators.survey_answers = len(scores)
    labels = question_labels()
    for question in SURVEY_QUESTIONS:
        values = [int(row[question]) for row in scores if question in row]
        shown = len(values) >= SURVEY_MIN_ANSWERS
        indicators.satisfaction.append(
            QuestionScore(
                question=question,
                label=labels[question],
                answers=len(values),
                mean=round(sum(values) / len(values), 2) if shown else None,
                distribution=[values.count(score) for score in range(1, 6)] if shown else [],
            )
        )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def event_csv_rows(indicators: EventIndicators) -> list[list[str]]:
    """The same tables as CSV rows for a French spreadsheet (sections one after the other)."""
    rows: list[list[str]] = [
        [_("Mois"), _("Événements"), _("Rencontres santé-social"), _("Inscrits"), _("Présents"),
         _("Taux de présence")],
    ]  # fmt: skip
    labelled = [(m.month.strftime("%Y-%m"), m) for m in indicators.months]
    for label, month in [*labelled, (_("Total de la période"), indicators.total)]:
        rows.append([label, str(month.events), str(month.health_social_meetings),
                     str(month.registered), str(month.attended),
                     _number(month.attendance_rate)])  # fmt: skip
    rows += [[], [_("Secteur"), _("Profession"), _("Présences")]]
    rows += [[sector, job, str(count)] for sector, job, count in indicators.participants]
    rows += [[], [_("Question"), _("Réponses"), _("Moyenne sur 5"), "1", "2", "3", "4", "5"]]
    rows += [
        [score.label, str(score.answers), _number(score.mean), *map(str, score.distribution)]
        for score in indicators.satisfaction
    ]
    rows += [[], [_("Nouvelles personnes rencontrées"), str(indicators.new_people_met)]]
    return rows
