"""Reads of protocols, and who may see and do what.

Visibility (protocols hold no patient data, so the rules are about work in progress):
- a protocol that has been published (in force or retired) is visible to every active
  member, with all its released versions (published, superseded, retired);
- drafts and versions in review are visible to the people working on them: the version's
  author, the protocol's creator, the named reviewers, and the CPTS coordination;
- a protocol never published is visible to the same people only.
Everyone else gets NotFound (404), whether the object exists or not; a hidden version, or a
participation of another protocol, gives the same answer as a protocol that does not exist.

Reads are not audited: there is no health data here. Writes are (protocols.services).
The exception is a patient included in a protocol (`Inclusion`): its identity is seen by the
member who included the patient and by the protocol's managers (its creator, the
coordination), every such read is audited, and everyone else who sees the protocol gets
counts only (`inclusion_counts`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.timezone import localdate, localtime, make_aware

from directory.models import Member, Membership, Organisation
from directory.selectors import is_coordinator
from protocols import actions, search
from protocols.diff import SectionDiff, diff_versions
from protocols.models import (
    Acknowledgement,
    Inclusion,
    Participation,
    Protocol,
    ProtocolReview,
    ProtocolVersion,
)
from security import audit
from security.access import get_or_not_found
from security.compiled import CompiledQuery
from security.exceptions import NotFound

MAX_VERSION_NUMBER = 2**31 - 1  # the column's range: beyond it, no version can exist

VersionStatus = ProtocolVersion.Status
ProtocolStatus = Protocol.Status


def _involved(member_id: int) -> Q:
    authored = ProtocolVersion.objects.filter(author_id=member_id).values("protocol_id")
    reviewing = ProtocolReview.objects.filter(reviewer_id=member_id).values("version__protocol_id")
    return Q(created_by_id=member_id) | Q(pk__in=authored) | Q(pk__in=reviewing)


def _visibility(member_id: int) -> Q:
    """What a member who is not a coordinator sees (a coordinator sees every protocol)."""
    return Q(status__in=(ProtocolStatus.PUBLISHED, ProtocolStatus.RETIRED)) | _involved(member_id)


def protocols_visible_to(member: Member) -> QuerySet[Protocol]:
    """Every protocol `member` may see. All protocol reads start here."""
    if is_coordinator(member):
        return Protocol.objects.all()
    return Protocol.objects.filter(_visibility(member.pk))


def versions_visible_to(member: Member, protocol: Protocol) -> QuerySet[ProtocolVersion]:
    """The versions of `protocol` that `member` may read, oldest first."""
    versions = ProtocolVersion.objects.filter(protocol=protocol)
    if not (protocol.created_by_id == member.pk or is_coordinator(member)):
        reviewing = ProtocolReview.objects.filter(version=OuterRef("pk"), reviewer=member)
        versions = versions.filter(
            Q(status__in=ProtocolVersion.RELEASED) | Q(author=member) | Exists(reviewing)
        )
    return versions.select_related("author").order_by("number")


def access_protocol(member: Member, code: UUID | str) -> Protocol:
    """The protocol if `member` may see it, else NotFound (missing and hidden look alike)."""
    protocols = (
        protocols_visible_to(member)
        .select_related("current_version", "created_by")
        .prefetch_related("themes")
    )
    return get_or_not_found(protocols, "protocol", code=code)


def access_version(member: Member, protocol: Protocol, number: int) -> ProtocolVersion:
    """Version `number` of a protocol `member` already accessed, if they may read it.

    A number beyond the column's range is a miss too (the database would refuse the query).
    """
    if number > MAX_VERSION_NUMBER:
        raise NotFound("protocol")
    versions = (
        versions_visible_to(member, protocol)
        .select_related("based_on", "published_by")
        .prefetch_related(_reviews_prefetch())
    )
    version = get_or_not_found(versions, "protocol", number=number)
    version.protocol = protocol
    return version


def _reviews_prefetch() -> Prefetch:
    return Prefetch(
        "reviews",
        queryset=ProtocolReview.objects.select_related("reviewer").order_by("round", "pk"),
    )


def version_for_output(version: ProtocolVersion) -> ProtocolVersion:
    """The version reloaded with what its detail shows, after a write."""
    return (
        ProtocolVersion.objects.select_related(
            "protocol", "author", "based_on", "published_by", "protocol__created_by"
        )
        .prefetch_related(_reviews_prefetch())
        .get(pk=version.pk)
    )


def protocol_for_output(protocol: Protocol) -> Protocol:
    return (
        Protocol.objects.select_related("current_version", "created_by")
        .prefetch_related("themes")
        .get(pk=protocol.pk)
    )


def protocol_list(
    member: Member,
    *,
    q: str = "",
    kind: str = "",
    status: str = "",
    profession: str = "",
    theme: str = "",
    review_overdue: bool | None = None,
) -> QuerySet[Protocol]:
    """The library: visible protocols, searched in French and filtered as asked.

    Sorted by title, or by relevance when searching on PostgreSQL.
    """
    queryset = protocols_visible_to(member)
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if profession:
        queryset = queryset.filter(profession_tags__contains=f" {profession} ")
    if theme:
        queryset = queryset.filter(
            pk__in=Protocol.themes.through.objects.filter(theme__slug=theme).values("protocol_id")
        )
    if review_overdue is not None:
        overdue = Q(status=ProtocolStatus.PUBLISHED) & (
            Q(current_version__review_date__lt=localdate())
            | Q(current_version__review_overdue_at__isnull=False)
        )
        queryset = queryset.filter(overdue) if review_overdue else queryset.exclude(overdue)
    queryset = (
        queryset.select_related("current_version")
        .prefetch_related("themes")
        .order_by("title", "pk")
    )
    return search.apply_search(queryset, q)


def no_protocols() -> QuerySet[Protocol]:
    """An empty queryset (schema generation has no caller)."""
    return Protocol.objects.none()


def versions_to_review(member: Member) -> QuerySet[ProtocolVersion]:
    """Versions in review where `member` has a decision to give in the current round."""
    pending = ProtocolReview.objects.filter(
        version=OuterRef("pk"),
        reviewer=member,
        round=OuterRef("review_round"),
        decision=ProtocolReview.Decision.PENDING,
    )
    return (
        ProtocolVersion.objects.filter(status=VersionStatus.IN_REVIEW)
        .filter(Exists(pending))
        .select_related("protocol", "author")
        .order_by("submitted_at", "pk")
    )


def open_versions_of(member: Member) -> QuerySet[ProtocolVersion]:
    """Drafts and versions in review that `member` writes (all of them for the coordination)."""
    versions = ProtocolVersion.objects.filter(status__in=ProtocolVersion.OPEN)
    if not is_coordinator(member):
        versions = versions.filter(Q(author=member) | Q(protocol__created_by=member))
    return versions.select_related("protocol", "author").order_by("-updated_at", "pk")


def open_version_of(protocol: Protocol) -> ProtocolVersion | None:
    return (
        ProtocolVersion.objects.filter(protocol=protocol, status__in=ProtocolVersion.OPEN)
        .select_related("author")
        .first()
    )


def latest_version_of(protocol: Protocol) -> ProtocolVersion | None:
    return ProtocolVersion.objects.filter(protocol=protocol).order_by("-number").first()


def current_reviews(version: ProtocolVersion) -> list[ProtocolReview]:
    return [review for review in version.reviews.all() if review.round == version.review_round]


def review_of(version: ProtocolVersion, member: Member) -> ProtocolReview | None:
    """`member`'s review in the version's current round, if they are a named reviewer."""
    for review in current_reviews(version):
        if review.reviewer_id == member.pk:
            return review
    return None


def can_edit(member: Member, version: ProtocolVersion) -> bool:
    """Drafts are edited by their author, the protocol's creator and the coordination."""
    return member.pk in (version.author_id, version.protocol.created_by_id) or is_coordinator(
        member
    )


def can_manage(member: Member, protocol: Protocol) -> bool:
    """Publishing, retiring and the protocol's metadata: its creator and the coordination."""
    return protocol.created_by_id == member.pk or is_coordinator(member)


def previous_released(version: ProtocolVersion) -> ProtocolVersion | None:
    """The version this one replaces: its base if released, else the last released before."""
    base = version.based_on
    if base is not None and base.status in ProtocolVersion.RELEASED:
        return base
    return (
        ProtocolVersion.objects.filter(
            protocol_id=version.protocol_id,
            number__lt=version.number,
            status__in=ProtocolVersion.RELEASED,
        )
        .order_by("-number")
        .first()
    )


def diff_between(
    member: Member, protocol: Protocol, *, from_number: int | None, to_number: int | None
) -> tuple[ProtocolVersion, ProtocolVersion, list[SectionDiff]]:
    """Compare two readable versions (default: the one in force with the one it replaced)."""
    if to_number is None:
        head = protocol.current_version or latest_version_of(protocol)
        if head is None:
            raise NotFound("protocol")
        to_number = head.number
    new = access_version(member, protocol, to_number)
    if from_number is None:
        old = previous_released(new) or new.based_on
        if old is None:
            raise NotFound("protocol")
        from_number = old.number
    old = access_version(member, protocol, from_number)
    return old, new, diff_versions(old, new)


def participants_of(protocol: Protocol) -> QuerySet[Participation]:
    """Active participations, with their members."""
    return (
        Participation.objects.filter(
            protocol=protocol, ended_at__isnull=True, member__is_active=True
        )
        .select_related("member")
        .order_by("role", "member__family_name", "member__given_name", "pk")
    )


def participations_ended_by(version: ProtocolVersion) -> QuerySet[Participation]:
    """The participations the publication of `version` ended (they no longer matched it)."""
    return (
        Participation.objects.filter(ended_by_version=version)
        .select_related("member")
        .order_by("role", "member__family_name", "member__given_name", "pk")
    )


def access_participation(protocol: Protocol, code: UUID | str) -> Participation:
    return get_or_not_found(participants_of(protocol), "protocol", code=code)


def concerned_members(protocol: Protocol, version: ProtocolVersion) -> QuerySet[Member]:
    """The active members a version concerns: told when it is published, asked to read it.

    Its participants, and, for a pluriprofessional protocol, every member of the professions
    it names: such a protocol applies to all of them without sign-up. A cooperation
    protocol applies only to the délégants and délégués registered in it.
    """
    participants = Participation.objects.filter(protocol=protocol, ended_at__isnull=True)
    who = Q(pk__in=participants.values("member_id"))
    if protocol.kind == Protocol.Kind.PLURIPROFESSIONAL and version.professions:
        who |= Q(profession__in=list(version.professions))
    return Member.objects.filter(who, is_active=True).order_by("family_name", "given_name", "pk")


def members_of_professions(professions: set[str] | list[str]) -> QuerySet[Member]:
    """Active members of these professions: whom the coordination may register."""
    return Member.objects.filter(is_active=True, profession__in=list(professions)).order_by(
        "family_name", "given_name", "pk"
    )


def access_registrable_member(member: Member, code: UUID | str) -> Member:
    """An active member to register in a protocol, by public id; NotFound otherwise."""
    return get_or_not_found(Member.objects.filter(is_active=True), "member", code=code)


@dataclass(frozen=True)
class AcknowledgementOverview:
    """Who acknowledged the version in force, and who among those it concerns has not yet."""

    version: ProtocolVersion | None
    acknowledged: list[Acknowledgement]
    pending: list[Member]
    concerned: int = 0  # how many members the version concerns (concerned_members)

    def has_acknowledged(self, member: Member) -> bool:
        return any(ack.member_id == member.pk for ack in self.acknowledged)


def acknowledgement_overview(protocol: Protocol) -> AcknowledgementOverview:
    """Two queries: the acknowledgements of the current version, and the members concerned."""
    version = protocol.current_version
    if version is None:
        return AcknowledgementOverview(None, [], [])
    acknowledged = list(
        Acknowledgement.objects.filter(version=version)
        .select_related("member")
        .order_by("acknowledged_at", "pk")
    )
    done = {ack.member_id for ack in acknowledged}
    concerned = list(concerned_members(protocol, version))
    pending = [member for member in concerned if member.pk not in done]
    return AcknowledgementOverview(version, acknowledged, pending, len(concerned))


def acknowledgement_of(member: Member, version: ProtocolVersion) -> Acknowledgement | None:
    return Acknowledgement.objects.filter(version=version, member=member).first()


def monthly_acknowledgement_counts(
    start: date, end: date, organisation: Organisation | None = None
) -> dict[str, int]:
    """Acknowledgements per month, "YYYY-MM" -> count, for the coordination's indicators.

    Counts the acknowledgements made between `start` and `end`, both days included, in local
    time (TIME_ZONE); with `organisation`, only those of its members. Every month of the
    period is a key, months without any acknowledgement count 0. One aggregate query.

    The period is a half-open range of instants, [local midnight of `start`, local midnight
    of the day after `end`), built with zoneinfo from local midnights so that a day of a
    daylight saving change keeps its 23 or 25 hours; a range on the column itself, unlike
    `acknowledged_at__date`, is served by the index on acknowledged_at.
    """
    counts: dict[str, int] = {}
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        counts[f"{year:04d}-{month:02d}"] = 0
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if start > end:
        return counts
    zone = ZoneInfo(settings.TIME_ZONE)
    queryset = Acknowledgement.objects.filter(
        acknowledged_at__gte=datetime.combine(start, time.min, tzinfo=zone),
        acknowledged_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )
    if organisation is not None:
        members = Membership.objects.filter(organisation=organisation).values("member_id")
        queryset = queryset.filter(member_id__in=members)
    rows = (
        queryset.annotate(month=TruncMonth("acknowledged_at"))
        .values("month")
        .annotate(total=Count("pk"))
        .order_by("month")
    )
    for row in rows:
        month_start = row["month"]
        if isinstance(month_start, datetime):
            month_start = localtime(month_start) if month_start.tzinfo else month_start
        counts[f"{month_start.year:04d}-{month_start.month:02d}"] = row["total"]
    return counts


def protocols_to_acknowledge(member: Member) -> int:
    """How many protocols in force the member takes part in without having acknowledged
    ("Lu et approuvé") their version in force: the home page's count. One query."""
    acknowledged = Acknowledgement.objects.filter(
        version=OuterRef("current_version"), member=member
    )
    taking_part = Participation.objects.filter(
        protocol=OuterRef("pk"), member=member, ended_at__isnull=True
    )
    return (
        Protocol.objects.filter(status=ProtocolStatus.PUBLISHED, current_version__isnull=False)
        .filter(Exists(taking_part))
        .exclude(Exists(acknowledged))
        .count()
    )


def _month_ends(start: date, end: date) -> dict[str, datetime]:
    """ "YYYY-MM" -> the moment a stock is read for that month: the start of the next month,
    or the day after `end` for the last month, at local midnight (TIME_ZONE)."""
    boundaries: dict[str, datetime] = {}
    after_end = end + timedelta(days=1)
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        year_after, month_after = (year + 1, 1) if month == 12 else (year, month + 1)
        boundary = min(date(year_after, month_after, 1), after_end)
        boundaries[f"{year:04d}-{month:02d}"] = make_aware(datetime.combine(boundary, time.min))
        year, month = year_after, month_after
    return boundaries


def _in_force_at(moment: datetime, prefix: str = "") -> Q:
    """A version (reached through `prefix`) in force at `moment`: published before it,
    neither superseded nor retired yet."""
    return (
        Q(**{f"{prefix}published_at__lt": moment})
        & (
            Q(**{f"{prefix}superseded_at__isnull": True})
            | Q(**{f"{prefix}superseded_at__gte": moment})
        )
        & (Q(**{f"{prefix}retired_at__isnull": True}) | Q(**{f"{prefix}retired_at__gte": moment}))
    )


def monthly_protocols_in_force(
    start: date, end: date, organisation: Organisation | None = None
) -> dict[str, int]:
    """Protocols in force at the end of each month, "YYYY-MM" -> count (D4011-4-2 follow-up).

    A protocol is in force at a moment when one of its versions was published before it and
    neither superseded nor retired yet. Protocols belong to the whole CPTS: `organisation`
    does not narrow them. One aggregate query, whatever the number of months.
    """
    ends = _month_ends(start, end)
    if not ends:
        return {}
    aggregates = {
        f"m{index}": Count("protocol", distinct=True, filter=_in_force_at(moment))
        for index, moment in enumerate(ends.values())
    }
    counts = ProtocolVersion.objects.filter(published_at__isnull=False).aggregate(**aggregates)
    return {month: counts[f"m{index}"] or 0 for index, month in enumerate(ends)}


def monthly_protocol_participants(
    start: date, end: date, organisation: Organisation | None = None
) -> dict[str, int]:
    """Professionals registered in at least one protocol in force at the end of each month
    (délégants, délégués, participants), "YYYY-MM" -> count; with `organisation`, only its
    members. A retired protocol keeps its participations (history) but engages no one.
    One aggregate query, whatever the number of months."""
    ends = _month_ends(start, end)
    if not ends:
        return {}
    queryset = Participation.objects.all()
    if organisation is not None:
        members = Membership.objects.filter(organisation=organisation).values("member_id")
        queryset = queryset.filter(member_id__in=members)
    aggregates = {
        f"m{index}": Count(
            "member",
            distinct=True,
            filter=Q(registered_at__lt=moment)
            & (Q(ended_at__isnull=True) | Q(ended_at__gte=moment))
            & _in_force_at(moment, prefix="protocol__versions__"),
        )
        for index, moment in enumerate(ends.values())
    }
    counts = queryset.aggregate(**aggregates)
    return {month: counts[f"m{index}"] or 0 for index, month in enumerate(ends)}


def protocols_for_notifications(codes: Collection[UUID], reader: Member) -> dict[UUID, Protocol]:
    """The protocols that notifications are about and the reader may see, by code."""
    if not codes:
        return {}
    if is_coordinator(reader):
        protocols = _ALL_NAMED_IN_NOTIFICATIONS.fetch(codes=sorted(codes))
    else:
        protocols = _NAMED_IN_NOTIFICATIONS.fetch(member_id=reader.pk, codes=sorted(codes))
    return {protocol.code: protocol for protocol in protocols}


def _protocols_named(codes: list[UUID], member_id: int | None = None) -> QuerySet[Protocol]:
    visible = Q() if member_id is None else _visibility(member_id)
    return Protocol.objects.filter(visible, code__in=codes).only("code", "title").order_by()


# The bell of every page reads them (worker.context_processors): compiled once per thread
# and number of codes, like the access reads (security.compiled).
_NAMED_IN_NOTIFICATIONS = CompiledQuery(_protocols_named, member_id=int, codes=[UUID])
_ALL_NAMED_IN_NOTIFICATIONS = CompiledQuery(_protocols_named, codes=[UUID])


# --- Patients included in a protocol (D4011-4-2) -----------------------------------------

# Who includes patients: the délégués of a cooperation protocol (the professionals who act
# under it), the participants of a pluriprofessional one. A délégant delegates, and is told.
INCLUDING_ROLES = (Participation.Role.DELEGATE, Participation.Role.PARTICIPANT)


def including_participation(member: Member, protocol: Protocol) -> Participation | None:
    """The member's active participation that lets them include patients, if any."""
    return (
        Participation.objects.filter(
            protocol=protocol, member=member, role__in=INCLUDING_ROLES, ended_at__isnull=True
        )
        .order_by("pk")
        .first()
    )


def sees_every_inclusion(member: Member, protocol: Protocol) -> bool:
    """The protocol's managers (its creator, the coordination) see every identity."""
    return can_manage(member, protocol)


def inclusions_visible_to(member: Member, protocol: Protocol) -> QuerySet[Inclusion]:
    """The inclusions whose patient `member` may see: their own, or all for a manager."""
    inclusions = Inclusion.objects.filter(protocol=protocol)
    if not sees_every_inclusion(member, protocol):
        inclusions = inclusions.filter(included_by=member)
    return inclusions.select_related("version", "included_by", "informed_by", "ended_by").order_by(
        "-included_on", "-pk"
    )


def no_inclusions() -> QuerySet[Inclusion]:
    return Inclusion.objects.none()


def audit_inclusion_list(member: Member, protocol: Protocol, shown: int) -> None:
    """Record that `member` saw a list of `shown` included patients of `protocol`."""
    audit.record(
        actor=member,
        action=actions.INCLUSION_LIST,
        target=protocol,
        extra={"count": shown},
    )


def my_inclusions(member: Member, protocol: Protocol, *, limit: int = 50) -> list[Inclusion]:
    """The patients `member` included in `protocol`, newest first; audited when any."""
    inclusions = list(
        Inclusion.objects.filter(protocol=protocol, included_by=member)
        .select_related("version", "included_by", "informed_by", "ended_by")
        .order_by("-included_on", "-pk")[:limit]
    )
    if inclusions:
        audit_inclusion_list(member, protocol, len(inclusions))
    return inclusions


def access_inclusion(member: Member, protocol: Protocol, code: UUID | str) -> Inclusion:
    """One inclusion whose patient `member` may see (audited), else NotFound."""
    inclusion = get_or_not_found(inclusions_visible_to(member, protocol), "inclusion", code=code)
    inclusion.protocol = protocol
    audit.record(actor=member, action=actions.INCLUSION_READ, target=inclusion)
    return inclusion


@dataclass(frozen=True)
class InclusionCounts:
    total: int
    ongoing: int
    ended: int
    by_reason: dict[str, int]

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """(reason in words, count) for the reasons that occurred, in the choices' order."""
        return [
            (str(label), self.by_reason[value])
            for value, label in Inclusion.EndReason.choices
            if self.by_reason.get(value)
        ]


def inclusion_counts(protocol: Protocol) -> InclusionCounts:
    """How many patients were included, are followed, left, and why: no identity, so every
    member who sees the protocol sees them. One aggregate query."""
    reasons = list(Inclusion.EndReason.values)
    figures = Inclusion.objects.filter(protocol=protocol).aggregate(
        total=Count("pk"),
        ongoing=Count("pk", filter=Q(ended_on__isnull=True)),
        **{f"reason_{value}": Count("pk", filter=Q(end_reason=value)) for value in reasons},
    )
    by_reason = {value: figures[f"reason_{value}"] for value in reasons}
    return InclusionCounts(
        total=figures["total"],
        ongoing=figures["ongoing"],
        ended=figures["total"] - figures["ongoing"],
        by_reason=by_reason,
    )


def monthly_inclusion_counts(
    start: date, end: date, organisation: Organisation | None = None
) -> dict[str, int]:
    """Patients included in a protocol per month (by date of inclusion), "YYYY-MM" -> count,
    for the D4011-4-2 follow-up; with `organisation`, only those included by its members.
    Every month of the period is a key. One aggregate query, whatever the number of months.
    """
    ends = _month_ends(start, end)
    if not ends:
        return {}
    queryset = Inclusion.objects.filter(included_on__gte=start, included_on__lte=end)
    if organisation is not None:
        members = Membership.objects.filter(organisation=organisation).values("member_id")
        queryset = queryset.filter(included_by_id__in=members)
    aggregates = {}
    for index, month in enumerate(ends):
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
        after = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
        aggregates[f"m{index}"] = Count(
            "pk", filter=Q(included_on__gte=first, included_on__lt=after)
        )
    counts = queryset.aggregate(**aggregates)
    return {month: counts[f"m{index}"] or 0 for index, month in enumerate(ends)}
