"""Reads of liaison sheets, and the access rules of the loop.

Who sees a sheet (DOMAIN.md B §7.4: CPTS membership alone gives no access to a patient):
- the sender's organisation (drafts included: a practice shares its drafts);
- once sent: the recipient service's members, and the named participants (the care team
  copied on a referral, the recipients of a discharge letter).
Everyone else gets NotFound (404), whether the sheet exists or not.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import active_members_of, organisation_ids_of, visible_by_code
from liaison import actions
from liaison.models import (
    LiaisonSheet,
    SheetAttachment,
    SheetEvent,
    SheetFiling,
    SheetParticipant,
)
from patients.identity import patient_search
from security import audit
from security.access import get_or_not_found
from security.compiled import CompiledQuery
from security.exceptions import NotFound

SheetStatus = LiaisonSheet.Status


def participant_sheet_ids_of(member: Member) -> list[int]:
    """The sheets the member is named on (copied or recipient), cached like organisations."""
    cached = getattr(member, "_participant_sheet_ids", None)
    if cached is None:
        cached = list(
            SheetParticipant.objects.filter(member=member).values_list("sheet_id", flat=True)
        )
        member._participant_sheet_ids = cached  # type: ignore[attr-defined]
    return cached


def _visibility(member_id: int, organisation_ids: list[int]) -> Q:
    participant = SheetParticipant.objects.filter(sheet=OuterRef("pk"), member_id=member_id)
    return (
        Q(sender_organisation_id__in=organisation_ids)
        | Q(author_id=member_id)
        | (
            ~Q(status=SheetStatus.DRAFT)
            & (Q(recipient_organisation_id__in=organisation_ids) | Q(Exists(participant)))
        )
    )


def sheets_visible_to(member: Member) -> QuerySet[LiaisonSheet]:
    """Every sheet `member` may see. All sheet reads start here."""
    return LiaisonSheet.objects.filter(_visibility(member.pk, organisation_ids_of(member)))


_JOINED = (
    "author",
    "sender_organisation",
    "recipient_organisation",
    "referral__author",  # the médecin adresseur a discharge letter prints
    "referral__sender_organisation__parent",
    "previous_version",
)


# A sheet's participants as every read lists them: with their members, in the order added.
_PARTICIPANTS_IN_ORDER = SheetParticipant.objects.select_related("member").order_by("pk")


def _participants() -> Prefetch:
    # A copy: prefetching marks its queryset (`_next_is_sticky`), and this one is shared.
    return Prefetch("participants", queryset=_PARTICIPANTS_IN_ORDER.all())


def _participants_of_sheets(sheet_ids: list[int]) -> QuerySet[SheetParticipant]:
    return _PARTICIPANTS_IN_ORDER.filter(sheet_id__in=sheet_ids)


# The participants follow every access check and every inbox page: compiling their read (a
# join and an order) was about a tenth of a send's CPU in the web workers
# (docs/benchmarks.md), so it is compiled once per thread and number of sheets.
_PARTICIPANTS = CompiledQuery(_participants_of_sheets, sheet_ids=[int])


def _load_participants(sheet: LiaisonSheet) -> None:
    """The sheet's participants, with their members, left on it as `_participants()`'s
    prefetch leaves them (each participant's sheet is this one)."""
    _keep_participants(sheet, _PARTICIPANTS.fetch(sheet_ids=[sheet.pk]))


def _keep_participants(sheet: LiaisonSheet, rows: list[SheetParticipant]) -> None:
    for participant in rows:
        participant._state.fields_cache["sheet"] = sheet
    cache = getattr(sheet, "_prefetched_objects_cache", None)
    if cache is None:
        cache = sheet._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    cache["participants"] = _as_prefetched(_participants_queryset(sheet.pk), rows)


def _participants_queryset(sheet_id: int) -> QuerySet[SheetParticipant]:
    """The sheet's participants as the prefetched relation holds them: its filter is built
    only if someone filters it further. Building it cost 80 µs a sheet, 20 times a page of the
    inbox; Django's related managers defer their filter the same way."""
    queryset = _PARTICIPANTS_IN_ORDER._chain()  # type: ignore[attr-defined]
    queryset._defer_next_filter = True
    return queryset.filter(sheet_id=sheet_id)


def _with_relations(queryset: QuerySet[LiaisonSheet]) -> QuerySet[LiaisonSheet]:
    return queryset.select_related(*_JOINED).prefetch_related(_participants())


def _sheet_to_access(
    member_id: int, organisation_ids: list[int], code: UUID
) -> QuerySet[LiaisonSheet]:
    """The read of `access_sheet` (its participants are prefetched after)."""
    return (
        LiaisonSheet.objects.filter(_visibility(member_id, organisation_ids), code=code)
        .select_related(*_JOINED)
        .order_by()
    )


# Every read and transition of a sheet starts with this read: compiling its six joins and the
# visibility rule cost more than a third of a send (docs/benchmarks.md), so it is compiled
# once per thread (security.compiled).
_ACCESS = CompiledQuery(_sheet_to_access, member_id=int, organisation_ids=[int], code=UUID)


# What the detail (liaison.serializers.SheetOutput) reads besides the sheet's own columns.
_OUTPUT_RELATIONS = ("author", "sender_organisation", "recipient_organisation", "referral",
                     "previous_version")  # fmt: skip


def sheet_for_output(sheet: LiaisonSheet) -> LiaisonSheet:
    """The sheet reloaded with what its detail shows, after a write the caller just audited."""
    return _with_relations(LiaisonSheet.objects.all()).get(pk=sheet.pk)


def sheet_as_written(sheet: LiaisonSheet) -> LiaisonSheet:
    """The sheet a service just wrote, with what its detail (SheetOutput) shows.

    The services keep the sheet they wrote up to date in memory (fields, participants) and
    it still holds the relations `access_sheet` loaded: the API answers from it, with no
    query. A sheet that lacks one of them (a replayed creation, a transition that lost a
    race and re-read its row) is reloaded whole (`sheet_for_output`).
    """
    prefetched = getattr(sheet, "_prefetched_objects_cache", {})
    loaded = "participants" in prefetched and all(
        getattr(sheet, f"{name}_id") is None or name in sheet._state.fields_cache
        for name in _OUTPUT_RELATIONS
    )
    return sheet if loaded else sheet_for_output(sheet)


def attachments_for_output(sheet: LiaisonSheet) -> list[SheetAttachment]:
    """The sheet's attachments, in upload order; none to read for a sheet just created."""
    prefetched = getattr(sheet, "_prefetched_objects_cache", {})
    if "attachments" in prefetched:
        return list(prefetched["attachments"])
    return _ATTACHMENTS.fetch(sheet_id=sheet.pk)


def _as_prefetched(queryset: QuerySet[Any], rows: list[Any]) -> QuerySet[Any]:
    """`queryset` already evaluated to `rows`, as prefetch_related leaves a relation."""
    queryset._result_cache = rows
    queryset._prefetch_done = True  # type: ignore[attr-defined]
    return queryset


def written_participants(sheet: LiaisonSheet, participants: list[SheetParticipant]) -> None:
    """Keep the participants a service just wrote on the sheet, as a prefetch would have."""
    cache = getattr(sheet, "_prefetched_objects_cache", None)
    if cache is None:
        cache = sheet._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    rows = sorted(participants, key=lambda participant: participant.pk)  # `_with_relations`'
    cache["participants"] = _as_prefetched(_participants_queryset(sheet.pk), rows)


def new_sheet_has_no_attachments(sheet: LiaisonSheet) -> None:
    """A sheet just created has no attachment yet: its response need not look for one."""
    cache = getattr(sheet, "_prefetched_objects_cache", None)
    if cache is None:
        cache = sheet._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    cache["attachments"] = _as_prefetched(attachments_of(sheet), [])


def access_sheet(
    member: Member, code: UUID | str, *, audit_action: str = actions.SHEET_READ
) -> LiaisonSheet:
    """Return the sheet if `member` may see it, and record the read.

    Missing and forbidden raise the same NotFound on purpose: a 403 would confirm that a
    sheet exists for a patient the caller has no business knowing about.
    """
    sheet = _ACCESS.get_or_not_found(
        "liaison sheet",
        member_id=member.pk,
        organisation_ids=organisation_ids_of(member),
        code=code,
    )
    _load_participants(sheet)
    audit.record(actor=member, action=audit_action, target=sheet)
    return sheet


def is_on_sender_side(member: Member, sheet: LiaisonSheet) -> bool:
    return sheet.author_id == member.pk or sheet.sender_organisation_id in organisation_ids_of(
        member
    )


def is_on_recipient_side(member: Member, sheet: LiaisonSheet) -> bool:
    return sheet.recipient_organisation_id in organisation_ids_of(member)


def is_participant(member: Member, sheet: LiaisonSheet) -> bool:
    return any(p.member_id == member.pk for p in sheet.participants.all())


def _due_at() -> Case:
    """When the sheet's next step is due, computed by the database from clear columns.

    - a referral sent or received: its receipt is due `LIAISON_RECEIPT_DELAY_MINUTES` after
      sending, by urgency (the alert of liaison.services.alerts fires at the same time);
    - an accepted referral with a planned date: its discharge letter is due after the grace
      period (`LIAISON_DISCHARGE_GRACE_DAYS`, the missing-letter reminder);
    - a discharge letter still in draft: due on the day of discharge (R1112-1-2).
    Anything else has no due date (None).
    """
    referral = LiaisonSheet.Kind.REFERRAL
    awaiting = Q(kind=referral, status__in=(SheetStatus.SENT, SheetStatus.RECEIVED))
    delays = settings.LIAISON_RECEIPT_DELAY_MINUTES
    routine = Value(timedelta(minutes=delays["routine"]))
    grace = Value(timedelta(days=settings.LIAISON_DISCHARGE_GRACE_DAYS + 1))
    whens = [
        When(awaiting & Q(urgency=urgency), then=F("sent_at") + Value(timedelta(minutes=minutes)))
        for urgency, minutes in delays.items()
    ]
    whens += [
        When(awaiting, then=F("sent_at") + routine),
        When(
            Q(kind=referral, status=SheetStatus.ACCEPTED, planned_date__isnull=False),
            then=ExpressionWrapper(F("planned_date") + grace, output_field=DateTimeField()),
        ),
        When(
            Q(kind=LiaisonSheet.Kind.DISCHARGE, status=SheetStatus.DRAFT)
            & Q(discharge_date__isnull=False),
            then=ExpressionWrapper(
                F("discharge_date") + Value(timedelta(days=1)), output_field=DateTimeField()
            ),
        ),
    ]
    return Case(*whens, default=Value(None), output_field=DateTimeField())


_CLOSED_STATES = (
    SheetStatus.CLOSED,
    SheetStatus.CANCELLED,
    SheetStatus.DECLINED,
    SheetStatus.NO_SHOW,
)


def triaged(
    queryset: QuerySet[LiaisonSheet], *, at: datetime | None = None
) -> QuerySet[LiaisonSheet]:
    """What needs action first: overdue, then urgent, then by due date, then the newest.

    The database annotates and orders (`due_at`, `priority`), so a page of the inbox reads
    only its rows; nothing is sorted in Python.
    """
    at = at or now()
    urgent = (LiaisonSheet.Urgency.URGENT, LiaisonSheet.Urgency.EMERGENCY)
    still_open = ~Q(status__in=_CLOSED_STATES)
    return queryset.annotate(
        due_at=_due_at(),
        priority=Case(
            When(due_at__lt=at, then=Value(0)),
            When(still_open & Q(urgency__in=urgent), then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by("priority", F("due_at").asc(nulls_last=True), "-created_at", "-pk")


class TriagedList:
    """A triaged list read a page at a time, for Django's and DRF's paginators.

    Ordering by a computed key reads every row the filters match; reading the whole rows
    (encrypted identity and content) to sort tens of thousands of them was 4x slower than
    the newest-first list at a million sheets. So the page's ids are chosen by a narrow
    query (clear columns only: an index-only scan of `liaison_sheet_triage` for a service's
    inbox), then only those rows are read whole: one query more than a plain page
    (measured on PostgreSQL, cardiology's inbox at 1 000 000 sheets, count and first page of
    50: about 290 ms against 175 ms newest-first on a shared 2-core machine; 600 ms when
    sorting whole rows). On PostgreSQL the ids query no longer sorts the whole inbox either:
    `_triaged_page_ids` reads index-ordered branches (see docs/benchmarks.md for figures).
    """

    ordered = True  # for Paginator's unordered-list warning

    def __init__(self, queryset: QuerySet[LiaisonSheet], member: Member) -> None:
        """`queryset`: the sheets to list, filtered only (`matching_sheets`, `worklist_for`):
        counting and choosing a page's ids need neither the triage's expressions nor the
        joins, and compiling them was a fifth of an inbox request."""
        self.queryset = queryset
        self.member = member

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[LiaisonSheet]:
        if not isinstance(index, slice):
            raise TypeError("a triaged list is read by pages (slices)")
        # Two statements on purpose: given the ids as a subquery, PostgreSQL's planner does
        # not trust its LIMIT and joins every row again (measured: seconds at a million).
        stop = index.stop
        if stop is not None and connection.vendor == "postgresql":
            ids = _triaged_page_ids(self.queryset, index.start or 0, stop)
        else:  # elsewhere (SQLite in the tests) the database sorts on the computed key
            ids = list(triaged(self.queryset).values_list("pk", flat=True)[index])
        return triaged_page(ids, self.member)


# What a row of a worklist shows besides the sheet's own columns (SheetSummaryOutput, the
# worklist page): not the referral a letter answers nor the previous version, which are two
# more sheets, encrypted identity and content included, for each row.
_LISTED = ("author", "sender_organisation", "recipient_organisation")


def _triaged_page(ids: list[int], member_id: int, at: datetime) -> QuerySet[LiaisonSheet]:
    page = LiaisonSheet.objects.filter(pk__in=ids).select_related(*_LISTED)
    filed = Exists(SheetFiling.objects.filter(sheet=OuterRef("pk"), member_id=member_id))
    return triaged(page.annotate(is_filed=filed), at=at)


# An inbox page's rows, by their ids: Django compiled its joins and the triage's
# expressions at every page, half of the page's CPU (docs/benchmarks.md). Compiled once per
# thread and number of ids on the page (security.compiled), with its participants.
_TRIAGED_PAGE = CompiledQuery(_triaged_page, ids=[int], member_id=int, at=datetime)


def triaged_page(ids: list[int], member: Member) -> list[LiaisonSheet]:
    """The sheets `ids` in triage order, with what a list shows (relations, participants,
    whether `member` filed them): two queries, none for no ids."""
    if not ids:
        return []
    sheets = _TRIAGED_PAGE.fetch(ids=ids, member_id=member.pk, at=now())
    participants: dict[int, list[SheetParticipant]] = {sheet.pk: [] for sheet in sheets}
    for participant in _PARTICIPANTS.fetch(sheet_ids=[sheet.pk for sheet in sheets]):
        participants[participant.sheet_id].append(participant)
    for sheet in sheets:
        _keep_participants(sheet, participants[sheet.pk])
    return sheets


def _triage_branches() -> list[tuple[str, list[Any], str, int, str]]:
    """The triage order of `triaged` cut into branches an index reads in order.

    Each branch is (condition, its parameters, order, priority when not overdue, due_at),
    in SQL over the sheet columns. Within a branch `due_at` is one column plus a constant (a
    receipt is due a fixed delay after `sent_at`, by urgency) and the priority is constant
    once not overdue, so the branch read by that column, then newest first, is in triage
    order: the overdue first (priority 0, earliest due), then the rest by due date. The
    branches partition the sheets; what no due date applies to comes last, state by state.
    """
    referral, discharge = LiaisonSheet.Kind.REFERRAL, LiaisonSheet.Kind.DISCHARGE
    delays = settings.LIAISON_RECEIPT_DELAY_MINUTES
    urgent_values = [LiaisonSheet.Urgency.URGENT.value, LiaisonSheet.Urgency.EMERGENCY.value]
    closed = [str(value) for value in _CLOSED_STATES]
    branches: list[tuple[str, list[Any], str, int, str]] = []
    for status in (SheetStatus.SENT, SheetStatus.RECEIVED):
        for urgency in LiaisonSheet.Urgency.values:
            delay = timedelta(minutes=delays.get(urgency, delays["routine"]))
            waiting = "kind = %s AND status = %s AND urgency = %s"
            due = f"sent_at + '{int(delay.total_seconds())} seconds'::interval"
            calm = 1 if urgency in urgent_values else 2
            params: list[Any] = [referral.value, status.value, urgency]
            branches.append((waiting, params, "sent_at", calm, due))
    grace = settings.LIAISON_DISCHARGE_GRACE_DAYS + 1
    planned = "kind = %s AND status = %s AND planned_date IS NOT NULL"
    written = "kind = %s AND status = %s AND discharge_date IS NOT NULL"
    for dated, dated_params, column, days in (
        (planned, [referral.value, SheetStatus.ACCEPTED.value], "planned_date", grace),
        (written, [discharge.value, SheetStatus.DRAFT.value], "discharge_date", 1),
    ):
        due = f"({column} + '{int(days)} days'::interval)::timestamptz"
        branches += [  # both states are open: urgent comes before the rest
            (f"{dated} AND urgency = ANY(%s)", [*dated_params, urgent_values], column, 1, due),
            (f"{dated} AND NOT urgency = ANY(%s)", [*dated_params, urgent_values], column, 2, due),
        ]
    # No due date: one branch per state, so an index reads only that state's sheets.
    undated = f"status = %s AND NOT ({planned}) AND NOT ({written})"
    undated_params = [referral.value, SheetStatus.ACCEPTED.value]
    undated_params += [discharge.value, SheetStatus.DRAFT.value]
    nothing = "NULL::timestamptz"
    for state in SheetStatus.values:
        condition = undated
        if state in (SheetStatus.SENT, SheetStatus.RECEIVED):
            condition += " AND kind = ANY(%s)"  # a referral there always has a due date
        params = [state, *undated_params]
        if state in (SheetStatus.SENT, SheetStatus.RECEIVED):
            params.append([kind for kind in LiaisonSheet.Kind.values if kind != referral])
        if state in closed:
            branches.append((condition, params, "", 2, nothing))
            continue
        branches += [
            (f"{condition} AND urgency = ANY(%s)", [*params, urgent_values], "", 1, nothing),
            (f"{condition} AND NOT urgency = ANY(%s)", [*params, urgent_values], "", 2, nothing),
        ]
    return branches


def _triaged_page_ids(queryset: QuerySet[LiaisonSheet], start: int, stop: int) -> list[int]:
    """The ids of `triaged(queryset)[start:stop]` on PostgreSQL, without sorting every match.

    Sorting on the computed key evaluated it for every sheet the filters match (a service's
    whole inbox: 20 000 rows at a million sheets, about 100 ms). Each branch of
    `_triage_branches` is read in an order an index gives, `stop` rows at most, and only
    those rows are sorted on the key: one UNION ALL statement. The list's own filters are
    compiled once, as a subquery PostgreSQL flattens into each branch.
    """
    columns = ("id", "kind", "status", "urgency", "sent_at", "planned_date", "discharge_date")
    base = queryset.order_by().values(*columns, "created_at")
    try:
        base_sql, base_params = base.query.sql_with_params()
    except EmptyResultSet:  # `.none()`, or an empty `IN ()` of the filters
        return []
    parts, params = [], []
    for condition, condition_params, column, priority, due in _triage_branches():
        order = f"{column}, created_at DESC, id DESC" if column else "created_at DESC, id DESC"
        # Only this module's constants and integers are spliced in; values are parameters.
        parts.append(
            f"(SELECT id, {priority} AS priority, {due} AS due_at, created_at"  # noqa: S608
            f" FROM ({base_sql}) AS sheet WHERE {condition} ORDER BY {order} LIMIT {int(stop)})"
        )
        params += [*base_params, *condition_params]
    sql = (
        "SELECT id FROM (" + " UNION ALL ".join(parts) + ") AS page"  # noqa: S608
        " ORDER BY CASE WHEN due_at < %s THEN 0 ELSE priority END,"
        + " due_at ASC NULLS LAST, created_at DESC, id DESC"
        + f" LIMIT {int(stop - start)} OFFSET {int(start)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now()])
        return [row[0] for row in cursor.fetchall()]


def _filed_by(member: Member) -> Exists:
    return Exists(SheetFiling.objects.filter(sheet=OuterRef("pk"), member=member))


def _unread_by(member: Member) -> Q:
    """Sent to the member by name (a letter's recipient, a copy) and not read yet."""
    unread = SheetParticipant.objects.filter(
        sheet=OuterRef("pk"), member=member, read_at__isnull=True
    )
    return ~Q(status=SheetStatus.DRAFT) & Q(Exists(unread))


def matching_sheets(
    member: Member,
    *,
    box: str = "",
    status: str = "",
    kind: str = "",
    urgency: str = "",
    document_status: str = "",
    service: Organisation | None = None,
    filed: bool | None = None,
    unread: bool | None = None,
    ins: str = "",
    family_name: str = "",
    birth_date: date | None = None,
    sent_from: date | None = None,
    sent_to: date | None = None,
) -> QuerySet[LiaisonSheet]:
    """The sheets of a worklist filtered as asked, in no order and with nothing joined:
    what a triaged list counts and pages (TriagedList); `sheet_list` adds the rest.

    `service` keeps the sheets sent by or to that organisation; `filed` those the member
    filed (True) or not (False); `unread` those sent to the member by name and not read.
    Patient search compares keyed blind indexes: the identity is never decrypted to search.
    The caller records the read with `record_list_read` (a list shows patient identities).
    """
    organisation_ids = organisation_ids_of(member)
    # The member's own participations are fetched first (a short list): `id IN (...)` OR an
    # indexed column lets PostgreSQL combine two index scans, where an EXISTS subquery in
    # the OR forced a scan of the whole table (measured: 290 ms at 1 000 000 sheets).
    participations = Q(pk__in=participant_sheet_ids_of(member))
    received = ~Q(status=SheetStatus.DRAFT) & (
        Q(recipient_organisation_id__in=organisation_ids) | participations
    )
    sent = Q(sender_organisation_id__in=organisation_ids) | Q(author=member)
    queryset = LiaisonSheet.objects.all()
    if box == "inbox":
        queryset = queryset.filter(received)
    elif box == "outbox":
        queryset = queryset.filter(sent)
    else:
        queryset = queryset.filter(sent | received)
    equal = {"status": status, "kind": kind, "urgency": urgency, "document_status": document_status}
    queryset = queryset.filter(**{key: value for key, value in equal.items() if value})
    if service is not None:
        queryset = queryset.filter(
            Q(recipient_organisation=service) | Q(sender_organisation=service)
        )
    if filed is not None:
        queryset = queryset.filter(_filed_by(member) if filed else ~_filed_by(member))
    if unread is not None:
        queryset = queryset.filter(_unread_by(member) if unread else ~_unread_by(member))
    if ins or family_name:
        queryset = queryset.filter(
            patient_search(ins=ins, family_name=family_name, birth_date=birth_date)
        )
    if sent_from:
        queryset = queryset.filter(sent_at__date__gte=sent_from)
    if sent_to:
        queryset = queryset.filter(sent_at__date__lte=sent_to)
    return queryset


def sheet_list(member: Member, **filters: Any) -> QuerySet[LiaisonSheet]:
    """The sheets of a worklist, what needs action first (`triaged`), filtered as asked
    (`matching_sheets`' filters), with what a list shows."""
    queryset = matching_sheets(member, **filters)
    return triaged(_with_relations(queryset).annotate(is_filed=_filed_by(member)))


def known_identity(
    member: Member, *, ins: str = "", family_name: str = "", birth_date: date | None = None
) -> LiaisonSheet | None:
    """The most recent sheet `member` may see about the patient searched for, or None.

    "Find a patient you already wrote about": the identity is taken from a sheet the member
    already sees (the same access rule as every sheet list, so nobody browses the CPTS's
    patients), found by the blind indexes only (an INS, or a family name with the birth
    date), never by decrypting rows. Nothing searched finds nothing. The caller records the
    read with `record_list_read`.
    """
    if not (ins and ins.strip()) and not (family_name and family_name.strip()):
        return None
    found = sheet_list(member, ins=ins, family_name=family_name, birth_date=birth_date)
    return found.order_by("-created_at", "-pk").first()  # the newest, not the most urgent


def identity_lookup(
    member: Member, params: Mapping[str, str], *, source: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """ "Reprendre l'identité" on a page form: the identity of the most recent sheet the
    member sees about the patient searched for (`?ins=`, or `?family_name=&birth_date=`).

    One lookup for every page that starts a document from a known patient (the new referral,
    the message composer): same parsing, same scope (`known_identity`), same messages, and
    the search audited as a list read under `source`. Returns the identity (empty when none)
    and what the lookup box shows (the values typed back, and a message).
    """
    ins = params.get("ins", "").strip()[:21]
    family_name = params.get("family_name", "").strip()[:100]
    try:
        birth_date: date | None = date.fromisoformat(params.get("birth_date", ""))
    except ValueError:
        birth_date = None
    lookup: dict[str, Any] = {"ins": ins, "family_name": family_name, "birth_date": birth_date}
    if not ins and not family_name:
        return {}, lookup
    if family_name and birth_date is None:
        lookup["message"] = _("La recherche par nom se fait avec la date de naissance.")
        return {}, lookup
    record_list_read(member, source=source, filters=lookup)
    sheet = known_identity(member, ins=ins, family_name=family_name, birth_date=birth_date)
    if sheet is None:
        lookup["message"] = _("Aucune fiche visible sur ce patient : saisissez son identité.")
        return {}, lookup
    lookup["message"] = _("Identité reprise de la fiche du %(date)s : vérifiez-la.") % {
        "date": sheet.created_at.date().strftime("%d/%m/%Y")
    }
    return dict(sheet.patient), lookup


# Filters whose value may go in the audit trail as is; the patient search filters are
# recorded by name only (their values identify a patient).
AUDITED_FILTER_VALUES = (
    *("box", "status", "kind", "urgency", "document_status", "sent_from", "sent_to"),
    *("tab", "page", "service", "filed", "unread"),
)
PATIENT_SEARCH_FILTERS = ("ins", "family_name", "birth_date")


def record_list_read(member: Member, *, source: str, filters: Mapping[str, Any]) -> None:
    """Audit one list request ("liaison_sheet.list"): a worklist shows patient identities.

    One entry per request, whatever the number of rows (constant queries), holding the
    filters used; a patient search is recorded as the names of its filters, never the INS,
    name or birth date searched for.
    """
    used = {key: value for key, value in filters.items() if value not in ("", None)}
    extra: dict[str, Any] = {"source": source}
    extra |= {
        key: str(getattr(used[key], "code", used[key]))  # an organisation by its public id
        for key in AUDITED_FILTER_VALUES
        if key in used
    }
    searched = [key for key in PATIENT_SEARCH_FILTERS if key in used]
    if searched:
        extra["patient_search"] = searched
    audit.record(actor=member, action=actions.SHEET_LIST, extra=extra)


def events_of(sheet: LiaisonSheet) -> QuerySet[SheetEvent]:
    return SheetEvent.objects.filter(sheet=sheet).select_related("actor").order_by("at", "pk")


def versions_of(sheet: LiaisonSheet) -> QuerySet[LiaisonSheet]:
    """Every version of a discharge letter (same set id), oldest first, drafts excluded."""
    return (
        LiaisonSheet.objects.filter(set_id=sheet.set_id)
        .exclude(~Q(pk=sheet.pk) & Q(status=SheetStatus.DRAFT))
        .order_by("document_version")
    )


def attachments_of(sheet: LiaisonSheet) -> QuerySet[SheetAttachment]:
    return _attachments_of(sheet.pk)


def _attachments_of(sheet_id: int) -> QuerySet[SheetAttachment]:
    return SheetAttachment.objects.filter(sheet_id=sheet_id).order_by("created_at", "pk")


# Every transition's answer lists the sheet's attachments: compiled once per thread, as the
# participants are (it was about a twelfth of a send's CPU in the web workers).
_ATTACHMENTS = CompiledQuery(_attachments_of, sheet_id=int)


def access_attachment(member: Member, sheet_code: UUID | str, code: UUID | str) -> SheetAttachment:
    """An attachment of a sheet the member may see; the download is audited by the caller."""
    sheet = access_sheet(member, sheet_code, audit_action=actions.SHEET_ATTACHMENT_READ)
    attachments = SheetAttachment.objects.select_related("sheet").filter(sheet=sheet)
    return get_or_not_found(attachments, "attachment", code=code)


WORKLIST_TABS = ("a-traiter", "envoyees", "en-attente", "brouillons", "classees")


def worklist_for(member: Member, tab: str, **filters: Any) -> QuerySet[LiaisonSheet]:
    """The web worklists' sheets; `filters` are `matching_sheets`'. In no order and with
    nothing joined: TriagedList pages them, what needs action first.

    - "a-traiter": what was sent to me or my service and is still open, minus what I filed;
    - "envoyees": what we sent (drafts have their own tab, "brouillons");
    - "en-attente": referrals still waiting for their discharge letter, and letters sent
      "in progress" whose awaited results have not yet come back as a new version;
    - "classees": what I filed ("Classer"), to find it again or un-file it.
    The caller records the read with `record_list_read` (source "web").
    """
    if tab == "envoyees":
        return matching_sheets(member, box="outbox", **filters).exclude(status=SheetStatus.DRAFT)
    if tab == "brouillons":
        return matching_sheets(member, box="outbox", **filters).filter(status=SheetStatus.DRAFT)
    if tab == "classees":
        return matching_sheets(member, **{**filters, "filed": True})
    if tab == "en-attente":
        later_version = LiaisonSheet.objects.filter(previous_version=OuterRef("pk"))
        return (
            matching_sheets(member, box="outbox", **filters)
            .filter(
                Q(
                    kind=LiaisonSheet.Kind.REFERRAL,
                    status__in=(SheetStatus.SENT, SheetStatus.RECEIVED, SheetStatus.ACCEPTED),
                )
                | Q(
                    kind=LiaisonSheet.Kind.DISCHARGE,
                    status=SheetStatus.SENT,
                    document_status="in_progress",
                )
            )
            .exclude(Exists(later_version.exclude(status=SheetStatus.DRAFT)))
        )
    return matching_sheets(member, box="inbox", **{**filters, "filed": False}).exclude(
        status__in=(SheetStatus.CLOSED, SheetStatus.CANCELLED, SheetStatus.DECLINED)
    )


def dashboard_counts(member: Member) -> dict[str, int]:
    """The home page's counts of the member's "À traiter" list, in one query.

    Each count is what its link lists (`worklist_for(member, "a-traiter")` with the same
    filters): referrals to receive, to accept, letters to write (accepted referrals), and
    discharge letters the member has not read.
    """
    referral = Q(kind=LiaisonSheet.Kind.REFERRAL)
    counts = (
        worklist_for(member, "a-traiter")
        .order_by()
        .aggregate(
            to_receive=Count("pk", filter=referral & Q(status=SheetStatus.SENT)),
            to_accept=Count("pk", filter=referral & Q(status=SheetStatus.RECEIVED)),
            letters_to_write=Count("pk", filter=referral & Q(status=SheetStatus.ACCEPTED)),
            letters_unread=Count(
                "pk", filter=Q(kind=LiaisonSheet.Kind.DISCHARGE) & _unread_by(member)
            ),
        )
    )
    return {key: value or 0 for key, value in counts.items()}


def overdue_by(sheet: LiaisonSheet, *, at: datetime | None = None) -> timedelta | None:
    """How late the sheet's next step is (`due_at` of `triaged`), or None when not late."""
    due = getattr(sheet, "due_at", None)
    if due is None:
        return None
    late = (at or now()) - due
    return late if late > timedelta(0) else None


def is_filed_by(member: Member, sheet: LiaisonSheet) -> bool:
    return SheetFiling.objects.filter(sheet=sheet, member=member).exists()


def hospital_services(*, excluding: int | None = None) -> QuerySet[Organisation]:
    services = Organisation.objects.filter(kind=Organisation.Kind.HOSPITAL_SERVICE)
    if excluding is not None:
        services = services.exclude(pk=excluding)
    return services.select_related("parent").order_by("parent__name", "name")


def organisation_by_code(code: str) -> Organisation | None:
    """The organisation a form names by its public id; None when blank, unknown or malformed."""
    if not code:
        return None
    try:
        return get_or_not_found(Organisation.objects.all(), "organisation", code=code)
    except NotFound:
        return None


def letters_of(referral: LiaisonSheet) -> QuerySet[LiaisonSheet]:
    """The discharge letters sent in answer to a referral."""
    return (
        LiaisonSheet.objects.filter(referral=referral)
        .exclude(status=SheetStatus.DRAFT)
        .order_by("set_id", "document_version")
    )


def has_next_version(sheet: LiaisonSheet) -> bool:
    return LiaisonSheet.objects.filter(previous_version=sheet).exists()


def no_sheets() -> QuerySet[LiaisonSheet]:
    """An empty queryset (schema generation has no caller)."""
    return LiaisonSheet.objects.none()


# --- Who is told (worker.services.notify decides the rest: never the actor, once, active) ---


def sender_side_members(sheet: LiaisonSheet) -> list[Member]:
    """The sender's side told about a sheet: its author.

    Colleagues of the practice see the sheet, but are not pinged for it.
    """
    return [sheet.author]


def recipient_side_members(sheet: LiaisonSheet) -> list[Member]:
    """The recipient's side told about a sheet: the active members of the recipient service."""
    if sheet.recipient_organisation_id is None:
        return []
    return active_members_of(sheet.recipient_organisation_id)


def participant_members(sheet: LiaisonSheet, *, unread_only: bool = False) -> list[Member]:
    """The named participants of a sheet (a letter's recipients, a referral's care team).

    With `unread_only`, those who have not read it yet (what the unread-letter alert names).
    """
    participants = sheet.participants.select_related("member")
    if unread_only:
        participants = participants.filter(read_at__isnull=True)
    return [participant.member for participant in participants.order_by("pk")]


def sheets_for_notifications(codes: Collection[UUID], reader: Member) -> dict[UUID, LiaisonSheet]:
    """The sheets that notifications are about, by code, with their services: one query.

    For the notification describer only (liaison.events): it reads the services and dates in
    clear, never the encrypted patient or content, which stay sealed. Only sheets the reader
    may still see: others' objects are not even named.
    """
    return visible_by_code(_NAMED_IN_NOTIFICATIONS, codes, reader)


def _sheets_named(
    member_id: int, organisation_ids: list[int], codes: list[UUID]
) -> QuerySet[LiaisonSheet]:
    return (
        LiaisonSheet.objects.filter(_visibility(member_id, organisation_ids), code__in=codes)
        .select_related("sender_organisation", "recipient_organisation")
        .order_by()
    )


# The bell of every page reads it (worker.context_processors): compiled once per thread
# and number of codes, like the access read (security.compiled).
_NAMED_IN_NOTIFICATIONS = CompiledQuery(
    _sheets_named, member_id=int, organisation_ids=[int], codes=[UUID]
)
