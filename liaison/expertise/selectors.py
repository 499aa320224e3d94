"""Reads of tele-expertise: the worklists and the billing trace, behind liaison's access rule.

Every read starts from liaison.selectors.sheets_visible_to (404 for the rest). The yearly
counts of the billing trace group clear columns and the patient's blind index: nothing is
decrypted to count (DOMAIN.md C.1: at most 4 acts per patient, year and professional).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.timezone import localtime, now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import organisation_ids_of
from liaison.models import ExpertiseRequest, LiaisonSheet
from liaison.selectors import sheets_visible_to

Status = LiaisonSheet.Status
EXPERTISE = LiaisonSheet.Kind.EXPERTISE
URGENCY_RANK = Case(
    When(urgency="emergency", then=Value(0)),
    When(urgency="urgent", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def expert_services() -> list[Organisation]:
    """The services and practices a request may be sent to, by name (the form's choices)."""
    from liaison.services.drafts import EXPERT_ORGANISATION_KINDS  # noqa: PLC0415

    return list(
        Organisation.objects.filter(kind__in=EXPERT_ORGANISATION_KINDS)
        .select_related("parent")
        .order_by("name")
    )


def requests_visible_to(member: Member) -> QuerySet[LiaisonSheet]:
    return (
        sheets_visible_to(member)
        .filter(kind=EXPERTISE)
        .select_related(
            "author",
            "sender_organisation",
            "recipient_organisation",
            "expertise__taken_by",
            "expertise__answered_by",
        )
    )


def request_list(member: Member, *, box: str = "", status: str = "") -> QuerySet[LiaisonSheet]:
    """`box=inbox`: the expert's worklist, by urgency then due date (oldest due first);
    `box=outbox`: the requester's requests, newest first; neither: every visible request."""
    organisations = organisation_ids_of(member)
    queryset = requests_visible_to(member)
    if status:
        queryset = queryset.filter(status=status)
    if box == "inbox":
        return (
            queryset.filter(recipient_organisation_id__in=organisations)
            .exclude(status=Status.DRAFT)
            .annotate(urgency_rank=URGENCY_RANK)
            .order_by("urgency_rank", "expertise__due_at", "pk")
        )
    if box == "outbox":
        queryset = queryset.filter(Q(author=member) | Q(sender_organisation_id__in=organisations))
    return queryset.order_by("-created_at", "-pk")


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    start = localtime().replace(year=year, month=1, day=1, hour=0, minute=0, second=0)
    return start.replace(microsecond=0), start.replace(year=year + 1, microsecond=0)


def yearly_counts(detail: ExpertiseRequest, *, year: int | None = None) -> dict[str, int]:
    """Answered requests this year about this patient: by this expert, by this requester.

    Two COUNTs on clear columns and the patient's blind index (the index expertise_expert).
    """
    if not detail.patient_key:
        return {"expert": 0, "requester": 0}
    start, end = _year_bounds(year or localtime().year)
    answered = ExpertiseRequest.objects.filter(
        patient_key=detail.patient_key, answered_at__gte=start, answered_at__lt=end
    )
    expert = detail.answered_by_id or detail.taken_by_id
    return {
        "expert": answered.filter(answered_by_id=expert).count() if expert else 0,
        "requester": answered.filter(sheet__author_id=detail.sheet.author_id).count(),
    }


def billing_warnings(detail: ExpertiseRequest, counts: dict[str, int]) -> list[str]:
    """What to check before billing: the yearly limit near or reached, the same-MSP pair."""
    limit = settings.EXPERTISE_YEARLY_LIMIT
    warnings = []
    # A request not yet answered will add one act: warn when it would reach the limit.
    pending = 0 if detail.answered_at else 1
    for who, label in (("expert", _("l'expert")), ("requester", _("le demandeur"))):
        total = counts[who] + pending
        if total > limit:
            warnings.append(
                _("Plafond dépassé pour %(who)s : %(count)s télé-expertises cette année pour ce "
                  "patient (%(limit)s facturables).")
                % {"who": label, "count": total, "limit": limit}
            )  # fmt: skip
        elif total >= limit - 1:
            warnings.append(
                _("Plafond bientôt atteint pour %(who)s : %(count)s sur %(limit)s cette année "
                  "pour ce patient.")
                % {"who": label, "count": total, "limit": limit}
            )  # fmt: skip
    if detail.same_msp:
        warnings.append(_("Demandeur et expert exercent dans la même MSP : acte non facturable."))
    return warnings


def billing_rows(expert: Member, month: str) -> Iterable[dict[str, Any]]:
    """The requests `expert` answered in `month` ("YYYY-MM"), with the yearly rank of each
    per patient: what the expert's billing needs, without naming the patient."""
    year, number = (int(part) for part in month.split("-"))
    start = localtime().replace(year=year, month=number, day=1, hour=0, minute=0, second=0,
                                microsecond=0)  # fmt: skip
    end = start.replace(year=year + 1, month=1) if number == 12 else start.replace(month=number + 1)
    details = (
        ExpertiseRequest.objects.filter(answered_by=expert, answered_at__gte=start,
                                        answered_at__lt=end)
        .select_related("sheet__author", "consent_by")
        .order_by("answered_at", "pk")
    )  # fmt: skip
    year_start, _end = _year_bounds(year)
    # The rank of each act in its patient's year (1st, 2nd...), from one ordered read.
    ranks: dict[int, int] = {}
    seen: dict[str, int] = {}
    year_rows = ExpertiseRequest.objects.filter(
        answered_by=expert, answered_at__gte=year_start, answered_at__lt=end
    ).order_by("answered_at", "pk")
    for pk, key in year_rows.values_list("pk", "patient_key"):
        seen[key] = seen.get(key, 0) + 1
        ranks[pk] = seen[key]
    for detail in details:
        assert detail.answered_at is not None
        yield {
            "request": str(detail.sheet.code),
            "answered_at": localtime(detail.answered_at).isoformat(timespec="minutes"),
            "requester": detail.sheet.author.display_name,
            "consent_at": localtime(detail.consent_at).isoformat(timespec="minutes")
            if detail.consent_at
            else "",
            "patient_acts_this_year": ranks.get(detail.pk, 0),
            "same_msp": "oui" if detail.same_msp else "non",
            "billable": "non"
            if detail.same_msp or ranks.get(detail.pk, 0) > settings.EXPERTISE_YEARLY_LIMIT
            else "oui",
        }


BILLING_COLUMNS = ["request", "answered_at", "requester", "consent_at",
                   "patient_acts_this_year", "same_msp", "billable"]  # fmt: skip


def billing_csv(expert: Member, month: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=BILLING_COLUMNS, delimiter=";")
    writer.writeheader()
    writer.writerows(billing_rows(expert, month))
    return out.getvalue()


def is_overdue(detail: ExpertiseRequest | None, status: str) -> bool:
    return bool(
        detail is not None
        and detail.due_at is not None
        and status in (Status.SENT, Status.TAKEN, Status.MORE_INFO_REQUESTED)
        and detail.due_at < now()
    )
