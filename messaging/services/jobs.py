"""The scheduled jobs of messaging: e-mail reminders of unread messages, and retention.

Both are idempotent and safe to run concurrently:
- a reminder is claimed by a conditional UPDATE of the receipts' `reminded_at` marker, so two
  beats (or two workers) send one e-mail per member and conversation;
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
from messaging import notify
from messaging.models import Attachment, Conversation, MessageReceipt
from messaging.selectors import expired_conversations, receipts_to_remind
from messaging.services.messages import delete_stored_files
from security import audit

logger = logging.getLogger(__name__)
JOB_TIME_BUDGET = 30.0  # seconds; the task's soft time limit is 60
REMINDER_BATCH = 500


def remind_unread_messages(*, at: datetime | None = None) -> int:
    """E-mail each member once about messages still unread after the delay; return how many.

    One reminder per member and conversation, whatever the number of messages waiting. The
    text names the author of the oldest one and links to the conversation: no subject, no
    patient, no content (messaging/notify.py).
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
        members = Member.objects.in_bulk({member_id for member_id, _ in pairs})
        conversations = Conversation.objects.in_bulk(
            {conversation_id for _, conversation_id in pairs}
        )
        for member_id, conversation_id in pairs:
            with transaction.atomic():
                waiting = receipts_to_remind(cutoff=cutoff).filter(
                    member_id=member_id, conversation_id=conversation_id
                )
                oldest = (
                    waiting.select_related("message__author")
                    .order_by("message__created_at")
                    .first()
                )
                # The claim: of two concurrent runs, one stamps the receipts, the other gets 0.
                if oldest is None or waiting.update(reminded_at=at) == 0:
                    continue
                conversation = conversations.get(conversation_id)
                if conversation is None:
                    continue
                notify.notify(
                    [members[member_id]],
                    event=notify.MESSAGE_UNREAD,
                    conversation=conversation,
                    actor=oldest.message.author,
                )
                handled += 1
        if len(pairs) < REMINDER_BATCH:
            break
    logger.info("messaging: %d unread-message reminders queued", handled)
    return handled


def purge_expired_conversations(
    *, at: datetime | None = None, batch_size: int | None = None
) -> int:
    """Delete conversations past their retention deadline, with their files; return how many.

    Each purged conversation leaves an audit entry (its public id and deadline, nothing of
    its content). Files are deleted after the commit that removed the rows naming them.
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
            action="conversation.purge",
            target=conversation,
            extra={"retain_until": conversation.retain_until.date().isoformat()},
        )
    transaction.on_commit(lambda: delete_stored_files(files), robust=True)
    return len(batch)
