"""Reads of conversations, and the access rule of messaging.

Who sees a conversation: its participants (a member who left still sees the history up to
the moment they left, and can no longer write), and every member of the organisation whose
shared inbox it is addressed to. Everyone else gets NotFound (404), whether it exists or not:
CPTS membership, even the coordination's, gives no access to anyone's messages.

Reads of clinical content are audited here. Two exceptions are deliberate, because they
disclose nothing: a poll that returns no new message (an open conversation page polls every
few seconds; auditing each empty poll would drown the trail), and marking messages read (the
read that showed them was audited). Writes are audited by their services.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.urls import reverse
from django.utils.timezone import get_current_timezone, make_aware
from django.utils.translation import gettext as _

from directory.models import Member, Membership, Organisation
from directory.selectors import (
    members_visible_to,
    organisation_ids_of,
    search_members,
    search_words,
    visible_by_code,
)
from liaison.selectors import access_sheet, identity_lookup, sheets_visible_to
from messaging import actions
from messaging.models import Attachment, Conversation, Message, MessageReceipt, Participant
from patients.identity import patient_search
from security import audit
from security.access import get_or_not_found
from security.compiled import CompiledQuery, Fixed
from security.crypto import decrypt, keyring_from_settings
from security.exceptions import FieldErrors, NotFound, PermissionDenied
from security.fields import EncryptedTextField

if TYPE_CHECKING:
    # Named in annotations only: messaging reaches sheets through liaison.selectors.
    from liaison.models import LiaisonSheet

MESSAGE = Message.Kind.MESSAGE
# The time of the last message, or of the creation for a conversation without one yet: lists
# sort on it (a bare last_message_at would put the NULLs first on PostgreSQL, last on SQLite).
ACTIVITY = Coalesce("last_message_at", "created_at")
DOWNLOAD_SALT = "messaging.attachment-download"


# --- Visibility ------------------------------------------------------------------------------


def _visibility(member_id: int, organisation_ids: list[int]) -> Q:
    participant = Participant.objects.filter(conversation=OuterRef("pk"), member_id=member_id)
    return Q(Exists(participant)) | Q(organisation_inbox_id__in=organisation_ids)


def conversations_visible_to(member: Member) -> QuerySet[Conversation]:
    """Every conversation `member` may see. All conversation reads start here."""
    return _visible(member.pk, organisation_ids_of(member))


def _visible(member_id: int, organisation_ids: list[int]) -> QuerySet[Conversation]:
    return Conversation.objects.filter(_visibility(member_id, organisation_ids))


def access_conversation(
    member: Member, code: UUID | str, *, audit_action: str | None = actions.CONVERSATION_READ
) -> Conversation:
    """Return the conversation if `member` may see it, and record the read.

    Missing and forbidden raise the same NotFound on purpose: a 403 would confirm that a
    conversation exists, and for one about a patient that alone is health data.
    `audit_action=None` leaves the audit to the caller, who records it only if it
    discloses content (see `record_disclosure`).
    """
    conversation = _the_one(_READ_ACCESS, member, code=code)
    _remember_standing(conversation, member)
    if audit_action:
        audit.record(actor=member, action=audit_action, target=conversation)
    return conversation


def access_conversation_to_poll(
    member: Member, code: UUID | str, since: str
) -> tuple[Conversation, Message | None]:
    """`access_conversation` (not audited) for a poll, with the `since` message's place in the
    same query: a poll is half of all requests, and each saves a lookup.

    Returns the conversation and, when `since` names one of its messages, that message's key
    and time (enough for `messages_after`). A `since` that is not a UUID is left to the
    query's check (400); one that names no message of the conversation is a 400 on `since`.
    """
    try:
        since_code = UUID(since) if since else None
    except ValueError:
        since_code = None
    if since_code is None:
        conversation = _the_one(_READ_ACCESS, member, code=code)
    else:
        conversation = _the_one(_POLL_ACCESS, member, code=code, since=since_code)
    _remember_standing(conversation, member)
    if since_code is None:
        return conversation, None
    since_pk = getattr(conversation, "since_pk", None)
    if since_pk is None:
        raise FieldErrors({"since": [_("Message inconnu dans cette conversation.")]})
    place = Message(
        pk=since_pk,
        code=since_code,
        conversation=conversation,
        created_at=conversation.since_created_at,  # type: ignore[attr-defined]
    )
    return conversation, place


def _conversation_to_read(
    member_id: int, organisation_ids: list[int], code: UUID
) -> QuerySet[Conversation]:
    """The read of `access_conversation`: the visible conversation with its standing."""
    return _with_standing(
        _visible(member_id, organisation_ids)
        .filter(code=code)
        .select_related("organisation_inbox", "liaison_sheet", "created_by"),
        member_id,
    ).order_by()


def _conversation_to_poll(
    member_id: int, organisation_ids: list[int], code: UUID, since: UUID
) -> QuerySet[Conversation]:
    """The read of a poll: `_conversation_to_read` with the `since` message's key and time."""
    theirs = Message.objects.filter(conversation=OuterRef("pk"), code=since).order_by()
    return _conversation_to_read(member_id, organisation_ids, code).annotate(
        since_pk=Subquery(theirs.values("pk")[:1]),
        since_created_at=Subquery(theirs.values("created_at")[:1]),
    )


# Every access to a conversation (a read, a poll: half of all requests) runs one of these:
# compiled once per thread (security.compiled), as compiling them cost more than running them.
_READ_ACCESS = CompiledQuery(
    _conversation_to_read, member_id=int, organisation_ids=[int], code=UUID
)
_POLL_ACCESS = CompiledQuery(
    _conversation_to_poll, member_id=int, organisation_ids=[int], code=UUID, since=UUID
)


def _the_one(query: CompiledQuery[Conversation], member: Member, **values: Any) -> Conversation:
    """The conversation `query` finds for `member`, or NotFound (a malformed code too)."""
    organisation_ids = organisation_ids_of(member)
    return query.get_or_not_found(
        "conversation", member_id=member.pk, organisation_ids=organisation_ids, **values
    )


def access_conversation_to_write(member: Member, code: UUID | str) -> Conversation:
    """`access_conversation` for sending a message: the same rule and the same answer, with
    who the message will be for in the same query (see `recipients_loaded_with`).

    The query reads the participants of the visible conversation with this code, each with
    its member, whether they have an unread message there, and the conversation joined: the
    caller's standing and the recipients come with the access. A conversation addressed to
    a shared inbox (its members are recipients too) falls back to the plain access.
    """
    try:
        rows = _WRITE_ACCESS.fetch(
            member_id=member.pk, organisation_ids=organisation_ids_of(member), code=code
        )
    except (ValueError, ValidationError):
        raise NotFound("conversation") from None
    if not rows:  # forbidden, missing, or addressed to an inbox: the plain access decides
        return access_conversation(member, code, audit_action=None)
    conversation = rows[0].conversation
    mine = next((row for row in rows if row.member_id == member.pk), None)
    conversation._standing = (member.pk, _standing(member, conversation, mine))  # type: ignore[attr-defined]
    recipients = []
    for row in rows:
        if row.left_at is None and row.member.is_active and row.member_id != member.pk:
            row.member.has_unread = row.has_unread  # type: ignore[attr-defined]
            recipients.append(row.member)
    conversation._recipients = (member.pk, recipients)  # type: ignore[attr-defined]
    return conversation


def _participants_to_write(
    member_id: int, organisation_ids: list[int], code: UUID
) -> QuerySet[Participant]:
    """The read of `access_conversation_to_write`, compiled once per thread (below)."""
    unread = MessageReceipt.objects.filter(
        conversation=OuterRef("conversation_id"), member=OuterRef("member_id"), read_at__isnull=True
    )
    return (
        Participant.objects.filter(
            conversation__in=_visible(member_id, organisation_ids).filter(
                code=code, organisation_inbox__isnull=True
            )
        )
        # The conversation alone: a send reads its keys, code and retention, and its
        # answer names no relation of it.
        .select_related("member", "conversation")
        .annotate(has_unread=Exists(unread))
        .order_by("member_id")
    )


# Compiling that read (joins, the visibility rule, the unread flag) cost more than half of a
# message's send (docs/benchmarks.md): a send compiles it once per thread (security.compiled).
_WRITE_ACCESS = CompiledQuery(
    _participants_to_write, member_id=int, organisation_ids=[int], code=UUID
)


def recipients_loaded_with(conversation: Conversation, author: Member) -> list[Member] | None:
    """The recipients `access_conversation_to_write(author, ...)` loaded, or None.

    Loaded before the send takes the conversation's lock: two messages racing to the same
    conversation may both tell a recipient (one bell too many, never one missing).
    """
    cached: tuple[int, list[Member]] | None = getattr(conversation, "_recipients", None)
    if cached is None or cached[0] != author.pk:
        return None
    return cached[1]


def _with_standing(queryset: QuerySet[Conversation], member_id: int) -> QuerySet[Conversation]:
    """`queryset` with the member's participant row (its id and departure) in the same query:
    every request that accesses a conversation asks next where its caller stands."""
    mine = Participant.objects.filter(conversation=OuterRef("pk"), member_id=member_id).order_by()
    return queryset.annotate(
        standing_participant_id=Subquery(mine.values("pk")[:1]),
        standing_left_at=Subquery(mine.values("left_at")[:1]),
    )


def _remember_standing(conversation: Conversation, member: Member) -> None:
    """Cache on the conversation the standing its access query loaded (see `standing_of`)."""
    participant_id = getattr(conversation, "standing_participant_id", None)
    participant = None
    if participant_id is not None:
        participant = Participant(
            pk=participant_id,
            conversation=conversation,
            member=member,
            left_at=getattr(conversation, "standing_left_at", None),
        )
    conversation._standing = (member.pk, _standing(member, conversation, participant))  # type: ignore[attr-defined]


def record_disclosure(member: Member, conversation: Conversation, *, messages: int) -> None:
    """Audit a read that returned `messages` messages; a read that returned none is not one."""
    if messages:
        audit.record(
            actor=member,
            action=actions.CONVERSATION_READ,
            target=conversation,
            extra={"messages": messages},
        )


@dataclass(frozen=True)
class Standing:
    """Where a member stands in a conversation: what they may do there."""

    participant: Participant | None
    via_inbox: bool

    @property
    def has_left(self) -> bool:
        return self.participant is not None and self.participant.left_at is not None

    @property
    def is_active_participant(self) -> bool:
        return self.participant is not None and self.participant.left_at is None

    @property
    def may_write(self) -> bool:
        return self.is_active_participant or self.via_inbox

    @property
    def reads_until(self) -> datetime | None:
        """A member who left (and is not in the inbox's organisation) reads up to then."""
        if self.via_inbox or self.participant is None:
            return None
        return self.participant.left_at


def standing_of(member: Member, conversation: Conversation) -> Standing:
    """The member's standing in a conversation they can see (access_conversation passed).

    Free after `access_conversation(member, ...)`, which loaded it with the conversation;
    one query for a conversation fetched otherwise (a service called by a job or a test).
    """
    cached: tuple[int, Standing] | None = getattr(conversation, "_standing", None)
    if cached is not None and cached[0] == member.pk:
        return cached[1]
    participant = Participant.objects.filter(conversation=conversation, member=member).first()
    return _standing(member, conversation, participant)


def _standing(
    member: Member, conversation: Conversation, participant: Participant | None
) -> Standing:
    via_inbox = (
        conversation.organisation_inbox_id is not None
        and conversation.organisation_inbox_id in organisation_ids_of(member)
    )
    return Standing(participant=participant, via_inbox=via_inbox)


# --- Lists -----------------------------------------------------------------------------------


def _unread_of(member: Member, *, urgent: bool = False) -> Coalesce:
    receipts = MessageReceipt.objects.filter(
        conversation=OuterRef("pk"), member=member, read_at__isnull=True
    )
    if urgent:
        receipts = receipts.filter(message__urgent=True, message__redacted_at__isnull=True)
    counted = receipts.order_by().values("conversation").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _with_relations(queryset: QuerySet[Conversation], member: Member) -> QuerySet[Conversation]:
    participants = Participant.objects.select_related("member").order_by("joined_at", "pk")
    return (
        queryset.select_related("organisation_inbox", "liaison_sheet", "created_by")
        .prefetch_related(Prefetch("participants", queryset=participants))
        .annotate(unread=_unread_of(member), urgent_unread=_unread_of(member, urgent=True))
    )


def _day_start(day: date) -> datetime:
    return make_aware(datetime.combine(day, time.min), get_current_timezone())


def conversation_list(
    member: Member,
    *,
    participant: UUID | None = None,
    subject: str = "",
    ins: str = "",
    family_name: str = "",
    birth_date: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    unread: bool | None = None,
    urgent: bool | None = None,
    left: bool = False,
) -> QuerySet[Conversation]:
    """The caller's conversations, most recent activity first, each with its unread count.

    The patient is found through blind indexes (of the INS, or of the family name with the
    birth date). Subjects are encrypted: `subject` is applied last, by decrypting the subjects
    of the most recent conversations left by the other filters (see `_subject_matches`).
    """
    queryset = conversations_visible_to(member).annotate(activity=ACTIVITY)
    mine = Participant.objects.filter(conversation=OuterRef("pk"), member=member)
    in_inbox = Q(organisation_inbox_id__in=organisation_ids_of(member))
    if left:
        queryset = queryset.filter(Exists(mine.filter(left_at__isnull=False)) & ~in_inbox)
    else:
        queryset = queryset.filter(Exists(mine.filter(left_at__isnull=True)) | in_inbox)
    if participant is not None:
        queryset = queryset.filter(
            Exists(
                Participant.objects.filter(conversation=OuterRef("pk"), member__code=participant)
            )
        )
    if ins or family_name:
        # The patient may be on the conversation itself or on its liaison sheet.
        queryset = queryset.filter(
            patient_search(
                ins=ins,
                family_name=family_name,
                birth_date=birth_date,
                through=("", "liaison_sheet__"),
            )
        )
    if date_from:
        queryset = queryset.filter(activity__gte=_day_start(date_from))
    if date_to:
        queryset = queryset.filter(activity__lt=_day_start(date_to + timedelta(days=1)))
    unread_receipts = MessageReceipt.objects.filter(
        conversation=OuterRef("pk"), member=member, read_at__isnull=True
    )
    if unread is not None:
        queryset = queryset.filter(Exists(unread_receipts) if unread else ~Exists(unread_receipts))
    if urgent is not None:
        urgent_messages = Message.objects.filter(
            conversation=OuterRef("pk"), urgent=True, redacted_at__isnull=True
        )
        queryset = queryset.filter(Exists(urgent_messages) if urgent else ~Exists(urgent_messages))
    if subject:
        queryset = queryset.filter(pk__in=_subject_matches(queryset, subject))
    return _with_relations(queryset, member).order_by("-activity", "-pk")


# Combining marks left by NFKD (accents, cedilla), and the characters typed several ways.
_MARKS = re.compile("[\u0300-\u036f]")
_VARIANTS = str.maketrans(
    {"œ": "oe", "æ": "ae", "\u2018": "'", "\u2019": "'", "\u02bc": "'"}
    | dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-")
)


def _folded(text: str) -> str:
    """Case, accents and ligatures folded away: "Œdème de Mme LEFÈVRE" -> "oedeme de mme lefevre".

    A regular expression rather than a loop over the characters: it runs on every decrypted
    subject of a search window, and was about eight times faster on 2,000 subjects.
    """
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold())).translate(_VARIANTS)


def _subject_matches(queryset: QuerySet[Conversation], text: str) -> list[int]:
    """Ids of the conversations of `queryset` whose subject holds every word of `text`.

    Subjects are encrypted with a random nonce, so SQL cannot search them, and a blind index
    of their words would let anyone with a dump link the conversations that share a word (a
    patient's name). Instead the subjects the caller may already read are decrypted and
    matched here, accent- and case-blind, part of a word being enough. The cost is bounded:
    only the MESSAGING_SUBJECT_SEARCH_LIMIT most recent conversations of `queryset` (which is
    already restricted to what the caller sees, and by the other filters) are decrypted, in
    one query that reads only their ids and ciphertexts. An older conversation is reached by
    narrowing the other filters (dates, participant, patient). The matching ids go back to
    the database as an IN list, hence the ceiling on the setting (config/settings.py).
    """
    words = _folded(text).split()
    field = Conversation._meta.get_field("subject")
    assert isinstance(field, EncryptedTextField)
    keyring = keyring_from_settings()
    rows = queryset.order_by("-activity", "-pk").values_list("pk", "code", "subject")
    found = []
    for pk, code, ciphertext in rows[: settings.MESSAGING_SUBJECT_SEARCH_LIMIT]:
        if ciphertext is None:
            continue
        plaintext = decrypt(ciphertext, aad=field.associated_data_for_row(code), keyring=keyring)
        subject = _folded(field.from_plaintext(plaintext))
        if all(word in subject for word in words):
            found.append(pk)
    return found


def unread_in(member: Member, conversation: Conversation) -> int:
    """The member's unread messages in one conversation."""
    return MessageReceipt.objects.filter(
        conversation=conversation, member=member, read_at__isnull=True
    ).count()


def unread_total(member: Member) -> int:
    """Unread messages across the member's conversations (the inbox badge)."""
    return MessageReceipt.objects.filter(member=member, read_at__isnull=True).count()


def access_conversation_for_output(member: Member, code: UUID | str) -> Conversation:
    """`access_conversation` (audited) and `conversation_for_output` in one read."""
    conversation = get_or_not_found(
        _with_relations(conversations_visible_to(member), member), "conversation", code=code
    )
    audit.record(actor=member, action=actions.CONVERSATION_READ, target=conversation)
    return conversation


def conversation_for_output(member: Member, conversation: Conversation) -> Conversation:
    """The conversation reloaded with what its detail shows (the caller has access)."""
    return _with_relations(Conversation.objects.filter(pk=conversation.pk), member).get()


def conversations_about_sheet(member: Member, sheet: LiaisonSheet) -> list[Conversation]:
    """The conversations attached to a liaison sheet that `member` may see (its page lists them)."""
    queryset = conversations_visible_to(member).filter(liaison_sheet=sheet)
    return list(_with_relations(queryset, member).order_by(ACTIVITY.desc(), "-pk"))


def no_conversations() -> QuerySet[Conversation]:
    """An empty queryset (schema generation has no caller)."""
    return Conversation.objects.none()


# --- Messages --------------------------------------------------------------------------------


def messages_of(conversation: Conversation, standing: Standing) -> QuerySet[Message]:
    """The messages the member may read, with what a message shows, in a constant number of
    queries whatever the length of the conversation (the page is sliced by the caller)."""
    return _readable(conversation.pk, standing.reads_until).prefetch_related(
        Prefetch("receipts", queryset=_receipts()), Prefetch("attachments", queryset=_attachments())
    )


def _readable(conversation_id: int, reads_until: datetime | None) -> QuerySet[Message]:
    """The messages of a conversation a member reads up to `reads_until`, with the relations
    a message shows (not its receipts and attachments: see `messages_of`, `message_page`)."""
    queryset = Message.objects.filter(conversation=conversation_id)
    if reads_until is not None:
        queryset = queryset.filter(created_at__lte=reads_until)
    return queryset.select_related("author", "about_member", "reply_to")


def _receipts() -> QuerySet[MessageReceipt]:
    return MessageReceipt.objects.select_related("member").order_by("member__family_name", "pk")


def _attachments() -> QuerySet[Attachment]:
    return Attachment.objects.order_by("created_at", "pk")


# The order of a page of messages: newest first (messaging.apis.MessageCursorPagination).
PAGE_ORDER = ("-created_at", "-id")


def message_page(
    conversation: Conversation, standing: Standing, *, since: Message | None, limit: int
) -> list[Message]:
    """The first `limit` messages of `messages_of` (newer than `since` if given) in
    PAGE_ORDER, with their receipts and attachments: what a page without a cursor shows.

    The same queries as Django's evaluation of that queryset sliced (the page, then the
    receipts and the attachments of its messages, none when it is empty), compiled once per
    thread (security.compiled): compiling them cost about two thirds of a poll's CPU, and a
    poll is half of all requests (docs/benchmarks.md).
    """
    values: dict[str, Any] = {"conversation_id": conversation.pk, "limit": limit}
    if standing.reads_until is not None:
        values["reads_until"] = standing.reads_until
    if since is not None:
        values.update(since_at=since.created_at, since_pk=since.pk)
    page = _PAGES[standing.reads_until is not None, since is not None].fetch(**values)
    if page:
        ids = [message.pk for message in page]
        _attach(page, "receipts", _PAGE_RECEIPTS.fetch(message_ids=ids))
        _attach(page, "attachments", _PAGE_ATTACHMENTS.fetch(message_ids=ids))
    return page


def _attach(messages: list[Message], name: str, related: list[Any]) -> None:
    """Give each message its `related` rows (a reverse foreign key, already in order) as
    prefetch_related does: `message.<name>.all()` answers them without a query, and each row
    knows its message.

    The cache holds a list, not a queryset: only its items are read (the serializer); a
    `.filter()` on it fails loudly rather than reading every message's rows.
    """
    field = Message._meta.get_field(name).field  # type: ignore[union-attr]
    by_message: dict[int, list[Any]] = {message.pk: [] for message in messages}
    for row in related:
        by_message[row.message_id].append(row)
    for message in messages:
        rows = by_message[message.pk]
        for row in rows:
            field.set_cached_value(row, message)
        message.__dict__.setdefault("_prefetched_objects_cache", {})[name] = rows


def _page_of(
    conversation_id: int,
    limit: int,
    reads_until: datetime | None = None,
    since_at: datetime | None = None,
    since_pk: int | None = None,
) -> QuerySet[Message]:
    """The page query of `message_page`, with placeholders for its values."""
    queryset = _readable(conversation_id, reads_until)
    if since_at is not None and since_pk is not None:
        queryset = messages_after(queryset, Message(pk=since_pk, created_at=since_at))
    return queryset.order_by(*PAGE_ORDER)[:limit]


# By (reads up to a departure, newer than a `since`): the SQL of each differs.
_PAGES: dict[tuple[bool, bool], CompiledQuery[Message]] = {
    (False, False): CompiledQuery(_page_of, conversation_id=int, limit=Fixed),
    (True, False): CompiledQuery(_page_of, conversation_id=int, limit=Fixed, reads_until=datetime),
    (False, True): CompiledQuery(
        _page_of, conversation_id=int, limit=Fixed, since_at=datetime, since_pk=int
    ),
    (True, True): CompiledQuery(
        _page_of,
        conversation_id=int,
        limit=Fixed,
        reads_until=datetime,
        since_at=datetime,
        since_pk=int,
    ),
}
_PAGE_RECEIPTS = CompiledQuery(
    lambda message_ids: _receipts().filter(message__in=message_ids), message_ids=[int]
)
_PAGE_ATTACHMENTS = CompiledQuery(
    lambda message_ids: _attachments().filter(message__in=message_ids), message_ids=[int]
)


def message_in(conversation: Conversation, code: UUID | str, *, field: str = "") -> Message:
    """A message of this conversation (the caller already has access to the conversation).

    With `field`, a miss is a 400 on that input field rather than a 404.
    """
    messages = Message.objects.select_related("conversation").filter(conversation=conversation)
    try:
        return get_or_not_found(messages, "message", code=code)
    except NotFound:
        if field:
            raise FieldErrors({field: [_("Message inconnu dans cette conversation.")]}) from None
        raise


def messages_after(queryset: QuerySet[Message], message: Message) -> QuerySet[Message]:
    """Messages strictly after `message` in (created_at, id) order: what a poll has not seen."""
    return queryset.filter(
        Q(created_at__gt=message.created_at) | Q(created_at=message.created_at, pk__gt=message.pk)
    )


def latest_messages(
    conversation: Conversation,
    standing: Standing,
    *,
    before: Message | None = None,
    limit: int = 50,
) -> tuple[list[Message], bool]:
    """The last `limit` messages (before `before`), oldest first, and whether there are more."""
    queryset = messages_of(conversation, standing)
    if before is not None:
        queryset = queryset.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        )
    page = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    return list(reversed(page[:limit])), len(page) > limit


def own_recent_messages(
    conversation: Conversation, member: Member, *, limit: int = 50
) -> list[Message]:
    """The member's latest messages with their receipts (a poll refreshes "lu par ...")."""
    receipts = MessageReceipt.objects.select_related("member").order_by("member__family_name", "pk")
    return list(
        Message.objects.filter(conversation=conversation, author=member, kind=MESSAGE)
        .prefetch_related(Prefetch("receipts", queryset=receipts))
        .order_by("-created_at", "-pk")[:limit]
    )


# --- Attachments -----------------------------------------------------------------------------


def download_token(member: Member, attachment: Attachment) -> str:
    """A signed, time-stamped token for one member and one attachment (TimestampSigner)."""
    signer = signing.TimestampSigner(salt=DOWNLOAD_SALT)
    return signer.sign(f"{attachment.code}:{member.code}")


def download_url(
    member: Member, attachment: Attachment, conversation_code: UUID, *, api: bool = True
) -> str:
    """The attachment's download link for this member: its path and a signed token."""
    name = "api-messaging-attachment" if api else "messaging-attachment"
    path = reverse(name, kwargs={"code": conversation_code, "attachment_code": attachment.code})
    return f"{path}?token={download_token(member, attachment)}"


def link_is_valid(member: Member, attachment: Attachment, token: str) -> bool:
    """Whether `token` was issued to this member for this attachment and has not expired."""
    signer = signing.TimestampSigner(salt=DOWNLOAD_SALT)
    try:
        value = signer.unsign(token, max_age=settings.MESSAGING_DOWNLOAD_LINK_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return False
    return value == f"{attachment.code}:{member.code}"


class LinkExpired(PermissionDenied):
    """The caller may see the attachment, but the link is not theirs or has expired."""

    code = "link_expired"


def access_attachment(
    member: Member, conversation_code: UUID | str, code: UUID | str, *, token: str
) -> Attachment:
    """An attachment the member may download now, with the download recorded in the audit.

    Two checks, in this order: the access rule (of a visible conversation, of a message the
    member may read, not redacted; else NotFound, as for a missing one), then the signed
    link (issued to this member for this attachment, and not expired; else LinkExpired).
    A link copied out of a browser history or a proxy log is therefore useless to anyone
    else, and to its owner too once it has expired.
    """
    conversation = access_conversation(member, conversation_code, audit_action=None)
    standing = standing_of(member, conversation)
    attachments = Attachment.objects.select_related("message").filter(
        conversation=conversation, message__redacted_at__isnull=True
    )
    attachment = get_or_not_found(attachments, "attachment", code=code)
    if standing.reads_until is not None and attachment.message.created_at > standing.reads_until:
        raise NotFound("attachment")
    if not link_is_valid(member, attachment, token):
        raise LinkExpired(_("Lien de téléchargement expiré ou invalide : rouvrez la conversation."))
    audit.record(
        actor=member,
        action=actions.CONVERSATION_ATTACHMENT_READ,
        target=conversation,
        extra={"attachment": str(attachment.code)},
    )
    return attachment


# --- Directory -------------------------------------------------------------------------------


def recipient_candidates(member: Member, query: str, *, limit: int = 20) -> list[Member]:
    """Members to write to whose name, profession or service matches ("infirmière",
    "cardiologie"), accent- and case-blind, the caller excluded (directory.search_members)."""
    if not search_words(query):
        return []
    queryset = search_members(members_visible_to(member).exclude(pk=member.pk), query)
    return list(members_visible_to(member).filter(pk__in=queryset.values("pk"))[:limit])


def participants_from_codes(member: Member, codes: list[UUID]) -> list[Member]:
    """The active members with these public ids, or FieldErrors naming the unknown ones."""
    found = {m.code: m for m in members_visible_to(member).filter(code__in=codes)}
    missing = [str(code) for code in dict.fromkeys(codes) if code not in found]
    if missing:
        raise FieldErrors(
            {
                "participants": [
                    _("Membre inconnu ou inactif : %(id)s") % {"id": code} for code in missing
                ]
            }
        )
    return [found[code] for code in dict.fromkeys(codes)]


def members_by_codes(member: Member, codes: list[UUID]) -> list[Member]:
    """The active members among these public ids, in their order (unknown ids are left out)."""
    found = {m.code: m for m in members_visible_to(member).filter(code__in=codes)}
    return [found[code] for code in dict.fromkeys(codes) if code in found]


def member_from_code(member: Member, code: UUID | str, *, field: str = "member") -> Member:
    try:
        return get_or_not_found(members_visible_to(member), "member", code=code)
    except NotFound:
        raise FieldErrors({field: [_("Membre inconnu ou inactif.")]}) from None


def inbox_from_code(code: UUID | str) -> Organisation:
    organisation = organisation_by_code(code)
    if organisation is None:
        raise FieldErrors(
            {
                "organisation_inbox": [
                    _("Structure inconnue, ou sans membre actif pour lire ses messages.")
                ]
            }
        )
    return organisation


def sheet_from_code(member: Member, code: UUID | str) -> LiaisonSheet:
    """The liaison sheet to attach: the caller must see it (its access rule, audited)."""
    try:
        return access_sheet(member, code)
    except NotFound:
        raise FieldErrors({"liaison_sheet": [_("Fiche de liaison introuvable.")]}) from None


def inbox_organisations() -> QuerySet[Organisation]:
    """Organisations with at least one active member: those whose shared inbox can be written to."""
    staffed = Membership.objects.filter(organisation=OuterRef("pk"), member__is_active=True)
    return (
        Organisation.objects.filter(Exists(staffed))
        .select_related("parent")
        .order_by("parent__name", "name")
    )


def organisation_by_code(code: UUID | str) -> Organisation | None:
    try:
        return inbox_organisations().filter(code=code).first()
    except (ValueError, ValidationError):
        return None


def care_team_of(member: Member, sheet: LiaisonSheet) -> tuple[list[Member], Organisation | None]:
    """Whom "Écrire à propos de cette fiche" writes to: the sheet's author and the members it
    names (copied care team, letter recipients), the writer left out; and the other side's
    service as a shared inbox (the hospital service for the GP, the sender's for the hospital),
    when the writer is not in it. Only active members and staffed inboxes."""
    named = [sheet.author_id, *(p.member_id for p in sheet.participants.all())]
    found = {m.pk: m for m in members_visible_to(member).filter(pk__in=named)}
    people = [found[pk] for pk in dict.fromkeys(named) if pk in found and pk != member.pk]
    mine = set(organisation_ids_of(member))
    other_side = next(
        (
            pk
            for pk in (sheet.recipient_organisation_id, sheet.sender_organisation_id)
            if pk is not None and pk not in mine
        ),
        None,
    )
    inbox = inbox_organisations().filter(pk=other_side).first() if other_side else None
    return people, inbox


def sheet_for(member: Member, code: UUID | str) -> LiaisonSheet | None:
    """The liaison sheet with this id if the member may see it (without auditing: a link)."""
    try:
        return sheets_visible_to(member).filter(code=code).first()
    except (ValueError, ValidationError):
        return None


def known_patient(
    member: Member, params: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The composer's "Reprendre l'identité": the identity of a patient the member already
    wrote about, by liaison's one lookup (its scope, messages and audit), to prefill the
    patient block. Returns the identity (empty when none) and the lookup box's state."""
    return identity_lookup(member, params, source="web_compose_known_identity")


# --- Indicators ------------------------------------------------------------------------------


def monthly_message_counts(
    start: date, end: date, organisation: Organisation | None = None
) -> dict[str, int]:
    """Messages written per month between `start` and `end` (both days included).

    Keys are "YYYY-MM" in the CPTS's time zone, every month of the period present (0 when
    none). With `organisation`, only conversations it takes part in: one of its members is
    (or was) a participant, or it is the conversation's shared inbox. One aggregate query;
    participant events ("X a été ajouté") are not messages and are not counted.
    """
    zone = get_current_timezone()
    queryset = Message.objects.filter(
        kind=MESSAGE,
        created_at__gte=_day_start(start),
        created_at__lt=_day_start(end + timedelta(days=1)),
    )
    if organisation is not None:
        members = Membership.objects.filter(organisation=organisation).values("member_id")
        involved = Participant.objects.filter(
            conversation=OuterRef("conversation_id"), member_id__in=members
        )
        queryset = queryset.filter(
            Exists(involved) | Q(conversation__organisation_inbox=organisation)
        )
    rows = (
        queryset.annotate(month=TruncMonth("created_at", tzinfo=zone))
        .order_by()
        .values("month")
        .annotate(n=Count("pk"))
    )
    counts = {_month_key(row["month"]): row["n"] for row in rows}
    result: dict[str, int] = {}
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        key = f"{year:04d}-{month:02d}"
        result[key] = counts.get(key, 0)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _month_key(value: date | datetime) -> str:
    return f"{value.year:04d}-{value.month:02d}"


# --- Scheduled jobs --------------------------------------------------------------------------


def expired_conversations(*, at: datetime) -> QuerySet[Conversation]:
    return Conversation.objects.filter(retain_until__lt=at).order_by("retain_until", "pk")


def receipts_to_remind(*, cutoff: datetime) -> QuerySet[MessageReceipt]:
    """Unread, not yet reminded receipts of messages older than `cutoff` (active members).

    A shared inbox is a team's: once one of its members has read a message, the others (who
    read that inbox without being participants) are not reminded of it.
    """
    read_by_the_team = MessageReceipt.objects.filter(
        message=OuterRef("message"),
        read_at__isnull=False,
        member__memberships__organisation=OuterRef("conversation__organisation_inbox"),
    )
    is_participant = Participant.objects.filter(
        conversation=OuterRef("conversation"), member=OuterRef("member")
    )
    return MessageReceipt.objects.filter(
        read_at__isnull=True,
        reminded_at__isnull=True,
        message__created_at__lte=cutoff,
        message__redacted_at__isnull=True,
        member__is_active=True,
    ).exclude(Exists(read_by_the_team) & ~Exists(is_participant))


def conversations_for_notifications(
    codes: Collection[UUID], reader: Member
) -> dict[UUID, Conversation]:
    """The conversations that notifications are about, by code (the describer's one query).

    Only those the reader may still see (someone who left a conversation no longer reads
    its subject). The subject is decrypted only when shown, by messaging.events, and only
    for a conversation about no patient; the patient identity is not loaded at all.
    """
    return visible_by_code(_NAMED_IN_NOTIFICATIONS, codes, reader)


def _conversations_named(
    member_id: int, organisation_ids: list[int], codes: list[UUID]
) -> QuerySet[Conversation]:
    return (
        _visible(member_id, organisation_ids)
        .filter(code__in=codes)
        .annotate(about_patient=Q(patient__isnull=False) | Q(liaison_sheet__isnull=False))
        .only("code", "subject", "liaison_sheet_id")
        .order_by()
    )


# The bell of every page reads it (worker.context_processors): compiled once per thread
# and number of codes, like the access reads (security.compiled).
_NAMED_IN_NOTIFICATIONS = CompiledQuery(
    _conversations_named, member_id=int, organisation_ids=[int], codes=[UUID]
)
