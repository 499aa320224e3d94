"""The scheduled jobs of messaging: e-mail reminders of unread messages, and retention.

Both are idempotent and safe to run concurrently:
- a reminder is claimed by locking the waiting receipts and stamping their `reminded_at`
  marker in the transaction that queues the e-mails, so two beats (or two workers) send one
  e-mail per member and conversation;
- the purge reads its batch with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so two runs
  split the work, and a message sent to an expiring conversation meanwhile either commits
  first (pushing the deadline back, so the purge skips it) or finds the row gone (404).
Each stops starting new batches after JOB_TIME_BUDGET seconds; the next run goes on.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now

from directory.models import Member
from messaging import actions, events
from messaging.models import Attachment, Conversation, MessageReceipt
from messaging.selectors import expired_conversations, receipts_to_remind
from messaging.services.messages import delete_stored_files
from security import audit
from worker.services import notify

logger = logging.getLogger(__name__)
JOB_TIME_BUDGET = 30.0  # seconds; the task's soft time limit is 60
REMINDER_BATCH = 500


def remind_unread_messages(*, at: datetime | None = None) -> int:
    """E-mail each member once about messages still unread after the delay; return how many.

    One reminder per member and conversation, whatever the number of messages waiting. The
    text names the author of the oldest one and links to the conversation: no subject, no
    patient, no content (messaging/events.py).

    Queries: 7 per batch of up to REMINDER_BATCH (member, conversation) pairs, plus 1 per
    reminder (and 1 to find the batch empty). The per-reminder query is the outbox INSERT of
    worker.services.enqueue_notification, which records one notification at a time (it owns
    the event check and the publish on commit); everything else is one statement per batch.
    """
    at = at or now()
    cutoff = at - timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES)
    deadline = time.monotonic() + JOB_TIME_BUDGET
    handled = 0
    while time.monotonic() < deadline:
        pairs = list(
            receipts_to_remind(cutoff=cutoff)
            .order_by()
            .values_list("member_id", "conversation_id")
            .distinct()[:REMINDER_BATCH]
        )
        if not pairs:
            break
        handled += _remind_batch(set(pairs), cutoff=cutoff, at=at)
        if len(pairs) < REMINDER_BATCH:
            break
    logger.info("messaging: %d unread-message reminders queued", handled)
    return handled


@transaction.atomic
def _remind_batch(pairs: set[tuple[int, int]], *, cutoff: datetime, at: datetime) -> int:
    """Claim the waiting receipts of these pairs and queue one reminder per pair.

    The claim: the receipts are locked (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite the
    IMMEDIATE transaction holds the write lock), then stamped `reminded_at` in one UPDATE,
    in the transaction that writes the outbox rows. Of two concurrent runs, the second skips
    the locked receipts, or finds them stamped once the first commits: one e-mail per pair.
    """
    waiting = receipts_to_remind(cutoff=cutoff).filter(
        member_id__in={member_id for member_id, _ in pairs},
        conversation_id__in={conversation_id for _, conversation_id in pairs},
    )
    if connection.features.has_select_for_update_skip_locked:
        waiting = waiting.select_for_update(skip_locked=True, of=("self",))
    rows = waiting.order_by("message__created_at", "pk").values_list(
        "pk", "member_id", "conversation_id", "message__author_id"
    )
    claimed: list[int] = []
    oldest_author: dict[tuple[int, int], int] = {}  # pair -> author of its oldest message
    for pk, member_id, conversation_id, author_id in rows:
        pair = (member_id, conversation_id)
        if pair in pairs:  # the filter above is a superset of the batch's pairs
            claimed.append(pk)
            oldest_author.setdefault(pair, author_id)
    if not claimed:
        return 0
    MessageReceipt.objects.filter(pk__in=claimed, reminded_at__isnull=True).update(reminded_at=at)
    members = Member.objects.in_bulk(
        {member_id for member_id, _ in oldest_author} | set(oldest_author.values())
    )
    conversations = Conversation.objects.in_bulk(
        {conversation_id for _, conversation_id in oldest_author}
    )
    reminded = 0
    for (member_id, conversation_id), author_id in oldest_author.items():
        conversation = conversations[conversation_id]
        told = notify(
            event=events.MESSAGE_UNREAD,
            recipients=[members[member_id]],
            actor=members[author_id],
            target=conversation,
            url=events.conversation_url(conversation),
        )
        reminded += len(told)  # 0 for a member who left the CPTS since: claimed, not told
    return reminded


def purge_expired_conversations(
    *, at: datetime | None = None, batch_size: int | None = None
) -> int:
    """Delete conversations past their retention deadline, with their files; return how many.

    Each purged conversation leaves an audit entry (its public id and deadline, nothing of
    its content). Files are deleted after the commit that removed the rows naming them.

    Queries: 16 per batch of up to `batch_size` conversations, plus 3 per conversation (and
    1 to find the batch empty). The 3 are security.audit.record(), which appends to a hash
    chain one entry at a time (lock the chain head, insert the entry, move the head): each
    entry's hash covers the previous one, and that API has no bulk form. The deletes are a
    fixed number of statements per batch (tests/messaging/test_queries.py pins both).
    """
    at = at or now()
    batch_size = batch_size or settings.MESSAGING_PURGE_BATCH_SIZE
    deadline = time.monotonic() + JOB_TIME_BUDGET
    purged = 0
    while time.monotonic() < deadline:
        count = _purge_batch(at=at, batch_size=batch_size)
        purged += count
        if count < batch_size:
            break
    logger.info("messaging: %d expired conversations purged", purged)
    return purged


@transaction.atomic
def _purge_batch(*, at: datetime, batch_size: int) -> int:
    candidates = expired_conversations(at=at)
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    batch = list(candidates[:batch_size])
    if not batch:
        return 0
    ids = [conversation.pk for conversation in batch]
    files = list(
        Attachment.objects.filter(conversation_id__in=ids)
        .exclude(file="")
        .values_list("file", flat=True)
    )
    # Leaf rows first, in single DELETEs, so the cascade below has little left to collect.
    MessageReceipt.objects.filter(conversation_id__in=ids).delete()
    Attachment.objects.filter(conversation_id__in=ids).delete()
    Conversation.objects.filter(pk__in=ids).delete()
    for conversation in batch:
        audit.record(
            actor=None,
            action=actions.CONVERSATION_PURGE,
            target=conversation,
            extra={"retain_until": conversation.retain_until.date().isoformat()},
        )
    transaction.on_commit(lambda: delete_stored_files(files), robust=True)
    return len(batch)
