"""The demo agenda: what the CPTS did (with who came and what they thought) and what is next.

Future events go through the services as a coordinator would make them: the annual day with
three sessions, open to the public, and the social worker's monthly permanence at the MSP.
Past events cannot be registered to any more (the rule is the services'), so their
registrations, attendance and anonymous survey answers are written as rows here, the way the
paper sign-in sheets of last season would be typed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils.timezone import get_current_timezone, localdate, make_aware

from directory.models import Member, Organisation
from events import services
from events.models import Event, Invitation, Registration, SurveyAnswer
from events.selectors import SURVEY_QUESTIONS, sector_of

DEMO_PATIENT = {
    "identity_status": "PROV",
    "birth_family_name": "Lefèvre",
    "given_names": "Éloïse Marie",
    "birth_date": "1979-03-15",
    "sex": "F",
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return make_aware(datetime.combine(day, time(hour, minute)), get_current_timezone())


def _second_tuesday_after(day: date) -> date:
    first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)  # next month's 1st
    tuesday = first + timedelta(days=(1 - first.weekday()) % 7)
    return tuesday + timedelta(days=7)


def _past(
    members: dict[str, Member],
    event: Event,
    came: list[str],
    missed: list[str],
    scores: list[tuple[int, int, int, int, str]],
) -> None:
    """Registrations of a past event, who came (sign-in list), and anonymous answers."""
    for login in [*came, *missed]:
        member = members[login]
        Registration.objects.create(
            event=event,
            member=member,
            status=Registration.Status.REGISTERED,
            profession=member.profession,
            sector=sector_of(member),
            created_at=event.starts_at - timedelta(days=10),
            attended_at=event.starts_at if login in came else None,
            attendance_method=Registration.Method.LIST if login in came else "",
            survey_answered=login in came[: len(scores)],
        )
    for *values, comment in scores:
        SurveyAnswer.objects.create(
            event=event, scores=dict(zip(SURVEY_QUESTIONS, values, strict=True)), comment=comment
        )
    Event.objects.filter(pk=event.pk).update(
        reminder_sent_at=event.starts_at - timedelta(days=1),
        survey_sent_at=event.ends_at,
        survey_reminded_at=event.ends_at + timedelta(days=3),
    )


@transaction.atomic
def load_events(members: dict[str, Member]) -> int:
    """The demo agenda, once (skipped when the demo already has events)."""
    if Event.objects.exists():
        return 0
    coord, social, gp = members["coord"], members["as.moreau"], members["dr.martin"]
    msp = Organisation.objects.get(name="MSP des Tilleuls")
    cpts = Organisation.objects.get(kind=Organisation.Kind.CPTS)
    today = localdate()

    # --- What happened ------------------------------------------------------------------------
    meeting_day = today - timedelta(days=45)
    meeting = services.create_event(
        actor=coord, kind=Event.Kind.MEETING, title="Rencontre médecins – travailleurs sociaux",
        theme="Précarité et renoncement aux soins", organisation=msp,
        place="MSP des Tilleuls, salle de réunion", starts_at=_at(meeting_day, 18),
        ends_at=_at(meeting_day, 20), capacity=20, sectors=["medical", "social"],
    )  # fmt: skip
    _past(members, meeting, came=["dr.martin", "ide.petit", "as.moreau", "dr.leroy"],
          missed=["pharma.durand"], scores=[
              (5, 4, 5, 4, "Enfin un temps pour se connaître entre ville et social."),
              (4, 4, 5, 3, ""), (5, 3, 4, 4, "À refaire chaque trimestre."),
          ])  # fmt: skip
    training_day = today - timedelta(days=20)
    training = services.create_event(
        actor=coord, kind=Event.Kind.TRAINING, title="Formation : repérer la fragilité",
        theme="Personnes âgées à domicile", organisation=cpts,
        place="Salle des fêtes de la Mairie", starts_at=_at(training_day, 9),
        ends_at=_at(training_day, 12), capacity=15, sectors=["medical", "social"],
    )  # fmt: skip
    _past(members, training, came=["ide.petit", "pharma.durand", "dr.bernard"],
          missed=["dr.leroy"], scores=[(4, 5, 4, 5, "Cas concrets très utiles."),
                                       (4, 4, 3, 4, ""), (3, 4, 4, 4, "")])  # fmt: skip
    case_day = today - timedelta(days=7)
    case = services.create_event(
        actor=gp, kind=Event.Kind.CASE_MEETING, title="RCP maintien à domicile",
        organisation=msp, place="MSP des Tilleuls", starts_at=_at(case_day, 13),
        ends_at=_at(case_day, 14), patient=DEMO_PATIENT,
    )  # fmt: skip
    for login in ("ide.petit", "as.moreau"):  # invited before the meeting, as it happened
        Invitation.objects.create(event=case, member=members[login], invited_by=gp)
    _past(members, case, came=["dr.martin", "ide.petit", "as.moreau"], missed=[], scores=[])

    # --- What is next ---------------------------------------------------------------------------
    day = today + timedelta(days=60)
    while day.weekday() != 3:  # a Thursday
        day += timedelta(days=1)
    annual = services.create_event(
        actor=coord, kind=Event.Kind.ANNUAL_DAY, title="Journée annuelle de médecine générale",
        theme="Soigner ensemble : santé, social et médico-social", organisation=cpts,
        place="Centre culturel, Gien", starts_at=_at(day, 9), ends_at=_at(day, 17),
        capacity=120, open_to_public=True,
        sectors=["medical", "social", "medico_social", "elected", "students"],
    )  # fmt: skip
    sessions = [
        ("Plénière : le projet de santé de la CPTS", (9, 0), (10, 30), 120),
        ("Table ronde : précarité et accès aux soins", (11, 0), (12, 30), 60),
        ("Atelier : sortie d'hospitalisation et retour à domicile", (14, 0), (16, 0), 25),
    ]
    created = [
        services.create_event(
            actor=coord, kind=Event.Kind.MEETING, title=title, parent=annual,
            place="Centre culturel, Gien", starts_at=_at(day, *start), ends_at=_at(day, *end),
            capacity=capacity, open_to_public=True,
        )
        for title, start, end, capacity in sessions
    ]  # fmt: skip
    for login in ("dr.martin", "ide.petit", "as.moreau"):
        services.register(actor=members[login], event=annual)
        services.register(actor=members[login], event=created[1])
    services.invite(actor=coord, event=annual, organisations=[cpts],
                    professions=[Member.Profession.SOCIAL_WORKER])  # fmt: skip
    services.create_event(
        actor=social, kind=Event.Kind.PERMANENCE, title="Permanence de l'assistante sociale",
        theme="Droits, aides, accès aux soins : sans rendez-vous", organisation=msp,
        place="MSP des Tilleuls, bureau 2", starts_at=_at(_second_tuesday_after(today), 14),
        ends_at=_at(_second_tuesday_after(today), 17), open_to_public=True,
        sectors=["medical", "social"], rule={"freq": "monthly", "count": 6},
    )  # fmt: skip
    return Event.objects.count()
