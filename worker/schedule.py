"""The Celery beat schedule, in code so that it is reviewed and versioned like code.

Imported by config/settings.py before the apps load: it may import celery.schedules only,
never models. Crontabs are in CELERY_TIMEZONE (TIME_ZONE, Europe/Paris).

Every job calls one service of the app it concerns, works in batches and is safe to run
twice or concurrently. `expires` drops a run that waited in the queue longer than its
period (workers down): the next one does the same work, so a backlog of identical runs
would only add load when the workers come back. Capabilities add their jobs here.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Proves a worker is consuming: /readyz reports the age of the last beat.
    "worker-heartbeat": {
        "task": "worker.tasks.record_heartbeat",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
    # The notification outbox: dead workers' claims, lost messages, quiet hours that ended.
    "sweep-outbox": {
        "task": "worker.tasks.sweep_outbox",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # https://crontab.guru/#5_*_*_*_* – hourly: each member's daily digest goes at the first
    # run after NOTIFICATION_DIGEST_HOUR that is outside their quiet hours.
    "send-notification-digests": {
        "task": "worker.tasks.send_notification_digests",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
    # https://crontab.guru/#40_3_*_*_* – nightly, off-peak.
    "purge-notifications": {
        "task": "worker.tasks.purge_notifications",
        "schedule": crontab(minute=40, hour=3),
        "options": {"expires": 3600},
    },
    # https://crontab.guru/#50_*_*_*_* – hourly: a signed checkpoint of the audit chain's head,
    # written outside the database (AUDIT_CHECKPOINT_DIR; docs/security.md "Audit trail").
    "security-audit-checkpoint": {
        "task": "worker.tasks.write_audit_checkpoint",
        "schedule": crontab(minute=50),
        "options": {"expires": 3000},
    },
    # Liaison loop: referrals nobody took (delay by urgency, then the coordinator).
    "liaison-alert-unreceived-referrals": {
        "task": "liaison.tasks.alert_unreceived_referrals",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # https://crontab.guru/#0_7_*_*_* – every morning, before consultations.
    "liaison-remind-missing-discharge-letters": {
        "task": "liaison.tasks.remind_missing_discharge_letters",
        "schedule": crontab(minute=0, hour=7),
        "options": {"expires": 3600},
    },
    # https://crontab.guru/#15_*_*_*_* – hourly: a letter is due the day of discharge.
    "liaison-alert-late-discharge-letters": {
        "task": "liaison.tasks.alert_late_discharge_letters",
        "schedule": crontab(minute=15),
        "options": {"expires": 3000},
    },
    # https://crontab.guru/#30_8_*_*_* – every morning.
    "liaison-remind-unread-discharge-letters": {
        "task": "liaison.tasks.remind_unread_discharge_letters",
        "schedule": crontab(minute=30, hour=8),
        "options": {"expires": 3600},
    },
    # Tele-expertise: requests nobody took (half the delay: the service; due: the coordinator).
    "liaison-alert-untaken-expertise-requests": {
        "task": "liaison.tasks.alert_untaken_expertise_requests",
        "schedule": 900.0,
        "options": {"expires": 900},
    },
    # https://crontab.guru/#45_8_*_*_* – every morning: answers their requester has not opened.
    "liaison-remind-unread-expertise-answers": {
        "task": "liaison.tasks.remind_unread_expertise_answers",
        "schedule": crontab(minute=45, hour=8),
        "options": {"expires": 3600},
    },
    # The agenda (events/): registrants reminded the day before (hourly: an event at 9:00
    # is reminded from 9:00 the day before), the survey once an event ended, one reminder.
    "events-send-reminders": {
        "task": "events.tasks.send_event_reminders",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "events-send-surveys": {
        "task": "events.tasks.send_event_surveys",
        "schedule": 1800.0,
        "options": {"expires": 1800},
    },
    # https://crontab.guru/#15_9_*_*_* – every morning: the survey's one reminder.
    "events-remind-surveys": {
        "task": "events.tasks.remind_event_surveys",
        "schedule": crontab(minute=15, hour=9),
        "options": {"expires": 3600},
    },
    # https://crontab.guru/#0_8_*_*_1-5 – weekdays 08:00: participants who have not read a
    # new protocol version.
    "protocols-remind-unacknowledged": {
        "task": "protocols.tasks.remind_unacknowledged_versions",
        "schedule": crontab(minute=0, hour=8, day_of_week="1-5"),
        "options": {"expires": 3600},
    },
    # https://crontab.guru/#10_6_*_*_* – daily: review dates within 30 days.
    "protocols-warn-upcoming-reviews": {
        "task": "protocols.tasks.warn_upcoming_reviews",
        "schedule": crontab(minute=10, hour=6),
        "options": {"expires": 3600},
    },
    # https://crontab.guru/#15_6_*_*_* – daily: "revue en retard".
    "protocols-mark-overdue-reviews": {
        "task": "protocols.tasks.mark_overdue_reviews",
        "schedule": crontab(minute=15, hour=6),
        "options": {"expires": 3600},
    },
    # Messages still unread after MESSAGING_UNREAD_EMAIL_AFTER_MINUTES: one e-mail, no content.
    "messaging-remind-unread": {
        "task": "messaging.tasks.remind_unread_messages",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # https://crontab.guru/#20_3_*_*_* – nightly, off-peak: conversations past retention.
    "messaging-purge-expired": {
        "task": "messaging.tasks.purge_expired_conversations",
        "schedule": crontab(minute=20, hour=3),
        "options": {"expires": 3600},
    },
}
