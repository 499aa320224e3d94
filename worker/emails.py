"""The notification e-mails: what happened, and a link. Never who the patient is.

The text comes from the event registry (whose labels can only name the actor), with what the
notification is about when its app's describer says the words may go by e-mail (a protocol's
title, a letter's service and date; never a conversation's subject), and the link
points to the notification itself, which the recipient opens after logging in: whatever the
e-mail passes through, it carries no patient identity and no clinical content.

Each e-mail has a Message-ID derived from the notification's public id: should the narrow
at-least-once window of SMTP send one twice (docs/background-work.md), mail clients and
servers that deduplicate by Message-ID show it once.

In a worker, e-mails reuse one mail-server session per thread (`keep_smtp_connection_open`,
called at worker start by config/celery.py): opened at the first e-mail, closed after any
error (the next e-mail opens a fresh one) and at worker shutdown. A session the server
closed while idle is reopened and the e-mail sent once more on it: the server said nothing
about it, so it was not accepted. Web processes open a session per e-mail, as Django does.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from collections.abc import Sequence
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import ngettext, override

from directory.models import Member
from worker.events import Attachment, get_describer
from worker.models import Notification
from worker.selectors import notification_subjects, notification_text, notification_texts

SUBJECT_PREFIX = "CPTS Liaison"
# How many notifications a digest lists one by one; the rest are counted.
DIGEST_MAX_ITEMS = 50


class PermanentDeliveryError(Exception):
    """The mail server refused for good (5xx): retrying would fail the same way."""


class _KeptSession(threading.local):
    keep_open = False  # set for the whole process, read by every thread
    backend: BaseEmailBackend | None = None


_session = _KeptSession()
# Errors that say the server dropped an idle session before our message went.
_DROPPED_SESSION = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


def keep_smtp_connection_open(keep: bool = True) -> None:
    """Reuse one mail-server session across the e-mails of this process (per thread)."""
    _KeptSession.keep_open = keep
    if not keep:
        close_smtp_connection()


def close_smtp_connection() -> None:
    """Close this thread's kept session, if any (worker shutdown, or after an error)."""
    backend, _session.backend = _session.backend, None
    if backend is not None:
        with contextlib.suppress(Exception):  # a session already dead needs no goodbye
            backend.close()


def _send_on_kept_session(message: EmailMessage) -> None:
    reused = _session.backend is not None
    for attempt in (1, 2):
        if _session.backend is None:
            _session.backend = get_connection(fail_silently=False)
            _session.backend.open()
        message.connection = _session.backend
        try:
            message.send(fail_silently=False)
        except _DROPPED_SESSION:
            close_smtp_connection()
            if not reused or attempt == 2:
                raise
        except BaseException:
            close_smtp_connection()
            raise
        else:
            return


def mail_domain() -> str:
    return urlparse(settings.SITE_URL).hostname or "cpts-liaison.invalid"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def notification_link(notification: Notification) -> str:
    return absolute(reverse("notification-open", kwargs={"code": notification.code}))


def _headers(message_id: str) -> dict[str, str]:
    return {
        "Message-ID": f"<{message_id}@{mail_domain()}>",
        "Auto-Submitted": "auto-generated",  # RFC 3834: no out-of-office replies
        "X-Auto-Response-Suppress": "All",
    }


def send_notification_email(notification: Notification) -> None:
    """Send one notification by e-mail; raise the SMTP or network error as it comes."""
    recipient = notification.recipient
    with override(settings.LANGUAGE_CODE):
        (about,) = notification_subjects([notification], reader=recipient)
        text = notification_text(notification, about, for_email=True)
        body = render_to_string(
            "worker/email/notification.txt",
            {
                "recipient": recipient,
                "text": text,
                "link": notification_link(notification),
                "preferences_link": absolute(reverse("notification-preferences")),
            },
        )
        subject = f"{SUBJECT_PREFIX} : {text}"[:200]
    attachment = notification_attachment(notification, recipient)
    _send(
        subject,
        body,
        to=recipient.user.email,
        message_id=f"notification.{notification.code}",
        attachments=[attachment] if attachment is not None else [],
    )


def notification_attachment(notification: Notification, reader: Member) -> Attachment | None:
    """The file the notification's app joins to its e-mail (an event's .ics), if any.

    Loaded through the describer, so with the reader's access: a target they can no longer
    see gives no file. One query, for the notifications whose app attaches something.
    """
    describer = get_describer(notification.target_type)
    if describer is None or describer.attach is None or notification.target_code is None:
        return None
    target = describer.load([notification.target_code], reader).get(notification.target_code)
    return describer.attach(notification.event, target) if target is not None else None


def send_digest_email(
    recipient: Member, notifications: Sequence[Notification], *, key: str
) -> None:
    """Send the daily digest: one line and one link per notification, nothing else."""
    with override(settings.LANGUAGE_CODE):
        listed = list(notifications[:DIGEST_MAX_ITEMS])
        items = [
            {"text": text, "link": notification_link(n), "at": n.created_at}
            for n, text in zip(
                listed, notification_texts(listed, for_email=True, reader=recipient), strict=True
            )
        ]
        count = len(notifications)
        body = render_to_string(
            "worker/email/digest.txt",
            {
                "recipient": recipient,
                "items": items,
                "more": max(0, count - DIGEST_MAX_ITEMS),
                "inbox_link": absolute(reverse("notifications")),
                "preferences_link": absolute(reverse("notification-preferences")),
            },
        )
        subject = ngettext(
            "%(prefix)s : %(count)d notification en attente",
            "%(prefix)s : %(count)d notifications en attente",
            count,
        ) % {"prefix": SUBJECT_PREFIX, "count": count}
    _send(subject, body, to=recipient.user.email, message_id=f"digest.{key}")


def _send(
    subject: str,
    body: str,
    *,
    to: str,
    message_id: str,
    attachments: Sequence[Attachment] = (),
) -> None:
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=_headers(message_id),
    )
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    try:
        if _session.keep_open:
            _send_on_kept_session(message)
        else:
            message.send(fail_silently=False)
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise PermanentDeliveryError(f"SMTP {exc.smtp_code}") from exc
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _message in exc.recipients.values()]
        if codes and min(codes) >= 500:
            raise PermanentDeliveryError(f"SMTP {min(codes)} (destinataire refusé)") from exc
        raise


def describe_error(exc: BaseException) -> str:
    """A short, content-free description of a delivery error for the coordination."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return (str(exc) if isinstance(exc, PermanentDeliveryError) else type(exc).__name__)[:200]
