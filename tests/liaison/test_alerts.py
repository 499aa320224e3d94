"""Scheduled alerts: nothing falls through, and two runs send one alert."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils.timezone import now

from liaison.models import LiaisonSheet, SheetParticipant
from liaison.services import alerts, transitions
from worker.models import Notification

pytestmark = pytest.mark.django_db


def count(event: str, member) -> int:
    return Notification.objects.filter(event=event, recipient=member).count()


def test_an_unreceived_referral_alerts_the_service_then_the_coordinator(
    demo, make_referral
) -> None:
    sheet = make_referral()  # urgent: 4 hours
    assert alerts.alert_unreceived_referrals(at=now() + timedelta(hours=3)) == 0
    later = now() + timedelta(hours=5)
    assert alerts.alert_unreceived_referrals(at=later) == 1
    assert alerts.alert_unreceived_referrals(at=later) == 0  # idempotent
    assert count("liaison.referral_not_received", demo["hop.cardio"]) == 1
    assert count("liaison.referral_not_received", demo["hop.cardio2"]) == 1
    assert count("liaison.referral_escalated", demo["coord"]) == 0
    assert alerts.alert_unreceived_referrals(at=now() + timedelta(hours=9)) == 1
    assert count("liaison.referral_escalated", demo["coord"]) == 1
    sheet.refresh_from_db()
    assert sheet.receipt_escalated_at is not None


def test_a_received_referral_is_not_chased(demo, make_referral) -> None:
    sheet = make_referral()
    transitions.transition_referral(actor=demo["hop.cardio"], sheet=sheet, action="receive")
    assert alerts.alert_unreceived_referrals(at=now() + timedelta(days=10)) == 0


def test_the_delay_depends_on_urgency(demo, make_referral) -> None:
    make_referral(urgency="emergency")
    make_referral(urgency="routine")
    assert alerts.alert_unreceived_referrals(at=now() + timedelta(minutes=90)) == 1


def test_an_accepted_referral_without_a_letter_reminds_the_service(demo, make_referral) -> None:
    sheet = make_referral()
    transitions.transition_referral(
        actor=demo["hop.cardio"], sheet=sheet, action="accept", planned_date=date(2026, 11, 2)
    )
    with time_machine.travel("2026-11-05 08:00 +0100"):
        assert alerts.remind_missing_discharge_letters() == 0
    with time_machine.travel("2026-11-12 08:00 +0100"):
        assert alerts.remind_missing_discharge_letters() == 1
        assert alerts.remind_missing_discharge_letters() == 0
    assert count("liaison.discharge_missing", demo["hop.cardio"]) == 1


def test_a_letter_not_sent_on_the_day_of_discharge_alerts_its_author(demo, make_referral) -> None:
    from liaison.services.discharge import start_discharge_letter
    from liaison.services.drafts import update_draft

    referral = make_referral()
    letter = start_discharge_letter(actor=demo["hop.cardio"], referral=referral)
    update_draft(
        actor=demo["hop.cardio"],
        sheet=letter,
        expected_version=1,
        content={"discharge_date": "2026-11-09", "admission_date": "2026-11-02"},
    )
    with time_machine.travel("2026-11-09 20:00 +0100"):
        assert alerts.alert_late_discharge_letters() == 0
    with time_machine.travel("2026-11-10 08:00 +0100"):
        assert alerts.alert_late_discharge_letters() == 1
        assert alerts.alert_late_discharge_letters() == 0
    assert count("liaison.discharge_late", demo["hop.cardio"]) == 1


def test_unread_letters_remind_only_those_who_have_not_read(demo, make_referral) -> None:
    from liaison.services.discharge import start_discharge_letter
    from liaison.services.drafts import update_draft
    from tests.liaison.conftest import discharge_content

    referral = make_referral()
    letter = start_discharge_letter(actor=demo["hop.cardio"], referral=referral)
    letter = update_draft(
        actor=demo["hop.cardio"], sheet=letter, expected_version=1, content=discharge_content()
    )
    transitions.send_sheet(actor=demo["hop.cardio"], sheet=letter)
    transitions.mark_read(actor=demo["ide.petit"], sheet=letter)
    assert alerts.remind_unread_discharge_letters(at=now() + timedelta(days=1)) == 0
    assert alerts.remind_unread_discharge_letters(at=now() + timedelta(days=3)) == 1
    assert alerts.remind_unread_discharge_letters(at=now() + timedelta(days=4)) == 0
    assert count("liaison.discharge_unread", demo["dr.martin"]) == 1
    assert count("liaison.discharge_unread", demo["ide.petit"]) == 0
    assert SheetParticipant.objects.get(sheet=letter, member=demo["dr.martin"]).reminded_at


def test_alert_texts_never_name_the_patient(demo, make_referral) -> None:
    make_referral()
    alerts.alert_unreceived_referrals(at=now() + timedelta(days=5))
    for notification in Notification.objects.all():
        text = str(notification.text if hasattr(notification, "text") else notification)
        assert "Lefèvre" not in text
        assert "Éloïse" not in text


def test_the_alert_jobs_use_a_bounded_number_of_queries(
    demo, make_referral, django_assert_max_num_queries
) -> None:
    for _ in range(5):
        make_referral()
    LiaisonSheet.objects.update(sent_at=now() - timedelta(days=5))
    with django_assert_max_num_queries(60):
        assert alerts.alert_unreceived_referrals() == 5


# --- Versions of a letter, and alerts that name who is still missing ------------------------

PATIENT_WORDS = ("Lefèvre", "Moreau", "Éloïse", "279035121518989", "1979")


def sent_letter(demo, referral, **content) -> LiaisonSheet:
    from liaison.services.discharge import start_discharge_letter
    from liaison.services.drafts import update_draft
    from tests.liaison.conftest import discharge_content

    letter = start_discharge_letter(actor=demo["hop.cardio"], referral=referral)
    letter = update_draft(
        actor=demo["hop.cardio"],
        sheet=letter,
        expected_version=letter.version,
        content=discharge_content(**content),
    )
    return transitions.send_sheet(actor=demo["hop.cardio"], sheet=letter)


def completed(demo, letter: LiaisonSheet) -> LiaisonSheet:
    """The next version of `letter`, results in, sent."""
    from liaison.services.discharge import revise_discharge_letter
    from liaison.services.drafts import update_draft

    draft = revise_discharge_letter(actor=demo["hop.cardio"], letter=letter)
    draft = update_draft(
        actor=demo["hop.cardio"],
        sheet=draft,
        expected_version=draft.version,
        content={"pending_results": ""},
    )
    return transitions.send_sheet(actor=demo["hop.cardio"], sheet=draft)


def texts(event: str, member) -> list[str]:
    from worker.selectors import notification_text

    return [
        notification_text(n) for n in Notification.objects.filter(event=event, recipient=member)
    ]


def assert_no_patient_data(text: str) -> None:
    for word in PATIENT_WORDS:
        assert word not in text


def test_a_new_version_in_draft_is_not_a_late_letter(demo, make_referral) -> None:
    first = sent_letter(demo, make_referral(), pending_results="Biopsie en cours d'analyse")
    assert first.document_status == "in_progress"
    from liaison.services.discharge import revise_discharge_letter

    revise_discharge_letter(actor=demo["hop.cardio"], letter=first)  # v2 draft, same dates

    with time_machine.travel("2026-11-20 08:00 +0100"):  # long after the discharge date
        assert alerts.alert_late_discharge_letters() == 0
    assert count("liaison.discharge_late", demo["hop.cardio"]) == 0


def test_only_the_newest_sent_version_is_reminded(demo, make_referral) -> None:
    first = sent_letter(demo, make_referral(), pending_results="Biopsie en cours d'analyse")
    second = completed(demo, first)

    assert alerts.remind_unread_discharge_letters(at=now() + timedelta(days=3)) == 2
    reminders = Notification.objects.filter(event="liaison.discharge_unread")
    assert {n.target_code for n in reminders} == {second.code}
    assert not SheetParticipant.objects.filter(sheet=first, reminded_at__isnull=False).exists()


def test_a_superseded_version_is_still_reminded_while_the_next_one_is_a_draft(
    demo, make_referral
) -> None:
    from liaison.services.discharge import revise_discharge_letter

    first = sent_letter(demo, make_referral(), pending_results="Biopsie en cours d'analyse")
    revise_discharge_letter(actor=demo["hop.cardio"], letter=first)

    assert alerts.remind_unread_discharge_letters(at=now() + timedelta(days=3)) == 2
    assert {
        n.target_code for n in Notification.objects.filter(event="liaison.discharge_unread")
    } == {first.code}


def test_the_author_is_told_who_has_not_read_the_letter(demo, make_referral) -> None:
    letter = sent_letter(demo, make_referral())
    transitions.mark_read(actor=demo["ide.petit"], sheet=letter)

    alerts.remind_unread_discharge_letters(at=now() + timedelta(days=3))

    [text] = texts("liaison.discharge_unread_by", demo["hop.cardio"])
    assert demo["dr.martin"].display_name in text
    assert demo["ide.petit"].display_name not in text
    assert_no_patient_data(text)
    [reminder] = texts("liaison.discharge_unread", demo["dr.martin"])
    assert "Cardiologie" in reminder
    assert_no_patient_data(reminder)


def test_the_escalation_names_the_service_and_its_members(demo, make_referral) -> None:
    make_referral()
    alerts.alert_unreceived_referrals(at=now() + timedelta(hours=5))
    [alert] = texts("liaison.referral_not_received", demo["hop.cardio"])
    assert "Cardiologie" in alert

    alerts.alert_unreceived_referrals(at=now() + timedelta(hours=9))

    [escalation] = texts("liaison.referral_escalated", demo["coord"])
    assert "Cardiologie" in escalation
    assert demo["hop.cardio"].display_name in escalation
    assert demo["hop.cardio2"].display_name in escalation
    for text in [alert, escalation]:
        assert_no_patient_data(text)


def test_the_late_letter_alert_names_who_waits_for_it(demo, make_referral) -> None:
    from liaison.services.discharge import start_discharge_letter
    from liaison.services.drafts import update_draft

    letter = start_discharge_letter(actor=demo["hop.cardio"], referral=make_referral())
    update_draft(
        actor=demo["hop.cardio"],
        sheet=letter,
        expected_version=1,
        content={"discharge_date": "2026-11-09", "admission_date": "2026-11-02"},
    )
    with time_machine.travel("2026-11-10 08:00 +0100"):
        alerts.alert_late_discharge_letters()

    [text] = texts("liaison.discharge_late", demo["hop.cardio"])
    assert demo["dr.martin"].display_name in text
    assert demo["ide.petit"].display_name in text
    assert_no_patient_data(text)


def test_the_missing_letter_reminder_names_the_service(demo, make_referral) -> None:
    sheet = make_referral()
    transitions.transition_referral(
        actor=demo["hop.cardio"], sheet=sheet, action="accept", planned_date=date(2026, 11, 2)
    )
    with time_machine.travel("2026-11-12 08:00 +0100"):
        alerts.remind_missing_discharge_letters()

    [text] = texts("liaison.discharge_missing", demo["hop.cardio"])
    assert "Cardiologie" in text
    assert_no_patient_data(text)


def test_a_member_who_left_the_cpts_is_not_reminded(demo, make_referral) -> None:
    from directory.models import Member

    letter = sent_letter(demo, make_referral())
    Member.objects.filter(pk=demo["dr.martin"].pk).update(is_active=False)

    alerts.remind_unread_discharge_letters(at=now() + timedelta(days=3))

    assert count("liaison.discharge_unread", demo["dr.martin"]) == 0
    assert count("liaison.discharge_unread", demo["ide.petit"]) == 1
    # Claimed all the same: leaving is not a reason to chase them again tomorrow.
    assert SheetParticipant.objects.get(sheet=letter, member=demo["dr.martin"]).reminded_at


def test_the_author_who_left_the_cpts_is_not_told_of_the_answer(demo, make_referral) -> None:
    from directory.models import Member

    sheet = make_referral()
    Member.objects.filter(pk=demo["dr.martin"].pk).update(is_active=False)

    transitions.transition_referral(actor=demo["hop.cardio"], sheet=sheet, action="receive")

    assert count("liaison.referral_received", demo["dr.martin"]) == 0
