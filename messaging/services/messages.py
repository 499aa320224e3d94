"""Writing, reading and redacting messages.

Invariants this module owns:
- Only an active participant, or a member of the conversation's shared inbox, writes; a
  member who left gets PermissionDenied (403: they still see the history they took part in).
- A message, its files, its receipts (one per recipient), the conversation's new retention
  deadline, the audit entry and the notifications commit together or not at all.
- A retried POST with the same Idempotency-Key creates one message: the database's unique
  constraint on (author, key) decides between concurrent retries, not an exists() check.
- Sending first UPDATEs the conversation row (last message, retention deadline). That lock
  orders concurrent sends to one conversation and makes a send that races the purge of an
  expired conversation fail cleanly (NotFound) instead of writing into a deleted one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO

from django.conf import settings
from django.db import router, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member
from directory.selectors import works_in
from messaging import actions, events
from messaging.models import Attachment, Conversation, Message, MessageReceipt, Participant
from messaging.selectors import recipients_loaded_with, standing_of
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, NotFound, PermissionDenied
from security.files import default_file_store, store_file
from security.uploads import check_upload
from worker import push
from worker.services import mark_target_notifications_read, notify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """A file to attach, as the interface received it."""

    fileobj: IO[bytes]
    filename: str
    size: int


@dataclass(frozen=True)
class Posted:
    message: Message
    replayed: bool  # True when an Idempotency-Key retry returned the first message


def checked_body(body: str, *, has_files: bool) -> str:
    """The body to store, or FieldErrors: empty (without a file) or longer than the limit."""
    body = body.strip()
    if not body and not has_files:
        raise FieldErrors({"body": [_("Le message est vide.")]})
    limit = settings.MESSAGING_MAX_BODY_CHARS
    if len(body) > limit:
        raise FieldErrors(
            {
                "body": [
                    _("Message trop long : %(n)d caractères, %(max)d au plus.")
                    % {"n": len(body), "max": limit}
                ]
            }
        )
    return body


def checked_files(files: Sequence[Upload]) -> list[str]:
    """The sniffed content type of each file, or FieldErrors (count, size, type on the content)."""
    if len(files) > settings.MESSAGING_MAX_ATTACHMENTS:
        raise FieldErrors(
            {
                "attachments": [
                    _("%(max)d fichiers au plus par message.")
                    % {"max": settings.MESSAGING_MAX_ATTACHMENTS}
                ]
            }
        )
    return [check_upload(upload.fileobj, size=upload.size, field="attachments") for upload in files]


def _refuse_writing(actor: Member, conversation: Conversation) -> None:
    standing = standing_of(actor, conversation)
    if standing.may_write:
        return
    if standing.has_left:
        raise PermissionDenied(
            _("Vous avez quitté cette conversation : vous ne pouvez plus y écrire.")
        )
    raise NotFound("conversation")  # never was in it, or it was purged meanwhile


def recipients_of(conversation: Conversation, *, author: Member) -> list[Member]:
    """Who a new message is for: active participants and the inbox's members, not the author.

    One query, whatever the conversation, or none when the API's access loaded them
    (selectors.access_conversation_to_write). Each recipient comes with `has_unread`,
    whether they still have an unread message here (then they were already told, see
    `_notify`).
    """
    loaded = recipients_loaded_with(conversation, author)
    if loaded is not None:
        return loaded
    takes_part = Exists(
        Participant.objects.filter(
            conversation=conversation, member=OuterRef("pk"), left_at__isnull=True
        )
    )
    concerned = Q(takes_part)
    if conversation.organisation_inbox_id is not None:
        concerned |= Q(works_in(conversation.organisation_inbox_id))
    unread = MessageReceipt.objects.filter(
        conversation=conversation, member=OuterRef("pk"), read_at__isnull=True
    )
    return list(
        Member.objects.filter(concerned, is_active=True)
        .exclude(pk=author.pk)
        .annotate(has_unread=Exists(unread))
        .order_by("pk")
    )


class _AlreadyPosted(Exception):
    """The Idempotency-Key was used by a committed message: undo this attempt, replay that."""


def _replay(actor: Member, conversation: Conversation, key: str) -> Posted | None:
    existing = Message.objects.filter(author=actor, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.conversation_id != conversation.pk:
        raise InvalidTransition(_("Cette clé d'idempotence a déjà servi pour un autre message."))
    return Posted(existing, replayed=True)


def post_message(
    *,
    actor: Member,
    conversation: Conversation,
    body: str,
    urgent: bool = False,
    files: Sequence[Upload] = (),
    reply_to: Message | None = None,
    idempotency_key: str = "",
) -> Posted:
    """Write a message (text and/or files) to a conversation and tell its recipients.

    Retried with the same `idempotency_key`, it returns the first message (replayed=True).
    The key is checked by the INSERT itself (see `_insert_once`), not by a SELECT before it:
    a first attempt, the usual case, costs no query for it. A retry rolls back what this
    attempt wrote (the conversation's dates) and answers the first message.
    """
    try:
        body, content_types = _checked(actor, conversation, body, files, reply_to)
    except (FieldErrors, PermissionDenied, NotFound):
        # A retry answers what the first attempt did, even if it could no longer be made
        # now (the author left since): the key was checked first before, and still wins.
        if idempotency_key and (replayed := _replay(actor, conversation, idempotency_key)):
            return replayed
        raise
    try:
        return _post(
            actor=actor,
            conversation=conversation,
            body=body,
            urgent=urgent,
            files=files,
            content_types=content_types,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
        )
    except _AlreadyPosted:
        replayed = _replay(actor, conversation, idempotency_key)
        if replayed is None:  # the key's holder was deleted meanwhile (purged): a plain miss
            raise NotFound("conversation") from None
        return replayed


def _checked(
    actor: Member,
    conversation: Conversation,
    body: str,
    files: Sequence[Upload],
    reply_to: Message | None,
) -> tuple[str, list[str]]:
    _refuse_writing(actor, conversation)
    body = checked_body(body, has_files=bool(files))
    content_types = checked_files(files)
    if reply_to is not None and reply_to.conversation_id != conversation.pk:
        raise FieldErrors({"reply_to": [_("Message inconnu dans cette conversation.")]})
    return body, content_types


@transaction.atomic
def _post(
    *,
    actor: Member,
    conversation: Conversation,
    body: str,
    urgent: bool,
    files: Sequence[Upload],
    content_types: list[str],
    reply_to: Message | None,
    idempotency_key: str,
) -> Posted:
    at = now()
    extended = Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=at,
        retain_until=at + timedelta(days=conversation.retention_days),
        updated_at=at,
    )
    if extended != 1:
        raise NotFound("conversation")  # purged (expired) in the meantime
    message = Message(
        conversation=conversation,
        author=actor,
        created_at=at,
        body=body,
        urgent=urgent,
        reply_to=reply_to,
        idempotency_key=idempotency_key,
    )
    if not _insert_once(message):
        raise _AlreadyPosted  # rolls back the UPDATE above: nothing of this attempt stays

    attachments = []
    for upload, content_type in zip(files, content_types, strict=True):
        attachment = Attachment(
            message=message,
            conversation=conversation,
            uploaded_by=actor,
            created_at=at,
            filename=(upload.filename or "")[:255] or "piece-jointe",
            content_type=content_type,
            size=upload.size,
        )
        store_file(attachment, "file", upload.fileobj)  # encrypted, before the audit lock
        attachments.append(attachment)
    if attachments:
        Attachment.objects.bulk_create(attachments)

    # After the UPDATE when not loaded yet: its row lock orders concurrent sends, so a second
    # message sees the receipts of the first (and does not notify again, see _notify).
    recipients = recipients_of(conversation, author=actor)
    receipts = MessageReceipt.objects.bulk_create(
        [
            MessageReceipt(message=message, conversation=conversation, member=member)
            for member in recipients
        ]
    )
    audit.record(
        actor=actor,
        action=actions.MESSAGE_SEND,
        target=conversation,
        extra={"message": str(message.code), "attachments": len(attachments), "urgent": urgent},
    )
    _notify(conversation, message, recipients, actor=actor)
    written_relations(message, attachments=attachments, receipts=receipts)
    # Open pages (the author's other tabs too) fetch it through the poll, under access rules.
    push.publish(
        topics=[push.member_topic(member.pk) for member in [*recipients, actor]],
        kind="message",
        conversation=conversation.code,
        message=message.code,
    )
    return Posted(message, replayed=False)


def _insert_once(message: Message) -> bool:
    """INSERT the message; False if its Idempotency-Key is already taken (nothing inserted).

    Without a key, a plain save. With one, `INSERT … ON CONFLICT DO NOTHING RETURNING id`
    (`INSERT OR IGNORE` on SQLite): the unique constraint on (author, key) decides, in the
    statement that writes, between a first attempt and a retry, and between two retries
    racing. No savepoint is needed, since nothing fails: a statement that inserts no row
    returns none. Django builds the statement (the encrypted body seals itself as in save());
    only the conflict clause is added. No signal listens to messages.
    """
    if not message.idempotency_key:
        message.save(force_insert=True)
        return True
    meta = Message._meta
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
    query = InsertQuery(Message, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [message])
    compiler = query.get_compiler(using=router.db_for_write(Message))
    compiler.returning_fields = [meta.pk]
    with compiler.connection.cursor() as cursor:
        for sql, params in compiler.as_sql():
            cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding = False
    message._state.db = compiler.using
    return True


def written_relations(
    message: Message, *, attachments: list[Attachment], receipts: list[MessageReceipt]
) -> None:
    """Give the new message the relations it was written with, as a prefetch would: its
    answer is built from what was written instead of being read back (three queries)."""
    by_name = sorted(receipts, key=lambda receipt: (receipt.member.family_name, receipt.pk))
    message._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "attachments": attachments,
        "receipts": by_name,
    }


def _notify(
    conversation: Conversation, message: Message, recipients: list[Member], *, actor: Member
) -> None:
    url = events.conversation_url(conversation)
    if message.urgent:
        notify(
            event=events.URGENT_MESSAGE_RECEIVED,
            recipients=recipients,
            actor=actor,
            target=conversation,
            url=url,
        )
        return
    # One in-app notification per unread stretch: a recipient who has not read the earlier
    # messages of this conversation was already told about them (`has_unread`, loaded by
    # recipients_of before this message's receipts were written).
    notify(
        event=events.MESSAGE_RECEIVED,
        recipients=[member for member in recipients if not member.has_unread],  # type: ignore[attr-defined]
        actor=actor,
        target=conversation,
        url=url,
    )


def mark_read(*, actor: Member, conversation: Conversation, up_to: Message | None = None) -> int:
    """Record that the actor read the conversation (up to a message); return how many receipts.

    Reading twice keeps the first time: only receipts still unread are stamped. Reading it
    all also marks read the actor's notifications about it (the bell counts what is left).
    """
    receipts = MessageReceipt.objects.filter(
        conversation=conversation, member=actor, read_at__isnull=True
    )
    if up_to is not None:
        receipts = receipts.filter(message__created_at__lte=up_to.created_at)
    else:
        mark_target_notifications_read(actor=actor, target=conversation)
    return receipts.update(read_at=now())


@transaction.atomic
def redact_message(*, actor: Member, message: Message) -> Message:
    """Withdraw one's own message: the text and files are deleted, a dated trace stays.

    The conditional UPDATE on redacted_at makes a double click harmless: the second gets
    InvalidTransition (409) with the time of the first.
    """
    if message.author_id != actor.pk:
        raise PermissionDenied(_("Seul l'auteur d'un message peut le retirer."))
    if message.kind != Message.Kind.MESSAGE:
        raise InvalidTransition(_("Seul un message peut être retiré."))
    at = now()
    updated = Message.objects.filter(pk=message.pk, redacted_at__isnull=True).update(redacted_at=at)
    if updated != 1:
        message.refresh_from_db(fields=["redacted_at"])
        assert message.redacted_at is not None
        raise InvalidTransition(
            _("Ce message a déjà été retiré."), redacted_at=message.redacted_at.isoformat()
        )
    message.redacted_at = at
    message.body = ""
    message.save(update_fields=["body"])  # encrypted column: rewritten through the instance
    names = list(Attachment.objects.filter(message=message).values_list("file", flat=True))
    Attachment.objects.filter(message=message).delete()
    # Nobody has to read a withdrawn message any more; the read receipts stay as a trace.
    MessageReceipt.objects.filter(message=message, read_at__isnull=True).delete()
    transaction.on_commit(lambda: delete_stored_files(names), robust=True)
    audit.record(
        actor=actor,
        action=actions.MESSAGE_REDACT,
        target=message.conversation,
        extra={"message": str(message.code)},
    )
    return message


def delete_stored_files(names: list[str]) -> None:
    """Delete encrypted files after the rows that named them are gone (after commit).

    A crash in between leaves unreferenced files: ciphertext under random names, which
    nothing can open without the row's associated data.
    """
    store = default_file_store()
    for name in names:
        if name:
            try:
                store.delete(name)
            except OSError:
                logger.warning("messaging: could not delete a stored file; it stays unreferenced")
