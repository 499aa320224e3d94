"""Health endpoints (no authentication, no data) and the French notification pages."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from directory.models import Member
from directory.permissions import member_page
from security.exceptions import FieldErrors
from worker import selectors, services
from worker.forms import PreferencesForm


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 when the database answers."""
    up = selectors.database_is_up()
    return JsonResponse({"database": "ok" if up else "down"}, status=200 if up else 503)


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the broker answer; the worker heartbeat is reported."""
    database = selectors.database_is_up()
    broker = selectors.broker_is_up()
    heartbeat = selectors.worker_heartbeat() if database else None
    body = {
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
        "worker": {
            "last_heartbeat": heartbeat.last_seen.isoformat()
            if heartbeat and heartbeat.last_seen
            else None,
            "age_seconds": heartbeat.age_seconds if heartbeat else None,
            "stale": heartbeat.stale if heartbeat else True,
        },
    }
    return JsonResponse(body, status=200 if database and broker else 503)


# --- Notification pages ----------------------------------------------------------------------


@member_page
@require_GET
def notification_list(request: HttpRequest, member: Member) -> HttpResponse:
    page = Paginator(selectors.notifications_visible_to(member), 25).get_page(
        request.GET.get("page")
    )
    lines = selectors.notification_lines(list(page), reader=member)
    return render(request, "worker/notification_list.html", {"page": page, "lines": lines})


@member_page
@require_GET
def open_notification(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """The link of a notification (in the header, the list, an e-mail): read, then go."""
    notification = selectors.access_notification(member, code)
    services.mark_notification_read(notification=notification, actor=member)
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications")


@member_page
@require_POST
def mark_read(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    notification = selectors.access_notification(member, code)
    services.mark_notification_read(notification=notification, actor=member)
    return redirect("notifications")


@member_page
@require_POST
def mark_all_read(request: HttpRequest, member: Member) -> HttpResponse:
    services.mark_all_notifications_read(actor=member)
    messages.success(request, _("Toutes vos notifications sont marquées comme lues."))
    return redirect("notifications")


@member_page
@require_POST
def send_test(request: HttpRequest, member: Member) -> HttpResponse:
    services.send_test_notification(actor=member)
    messages.success(
        request,
        _("Notification de test envoyée, selon vos préférences pour ce type de notification."),
    )
    return redirect("notification-preferences")


@member_page
def notification_preferences(request: HttpRequest, member: Member) -> HttpResponse:
    preferences = selectors.notification_preferences_of(member)
    form = PreferencesForm(request.POST or None, preferences=preferences)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_notification_preferences(actor=member, **form.to_service_kwargs())
        except FieldErrors as exc:
            for messages_of_field in exc.fields.values():
                for message in messages_of_field:
                    form.add_error(None, message)
        else:
            if form.applied_area:
                messages.success(
                    request, _("Le canal choisi s'applique maintenant à tout le groupe.")
                )
            else:
                messages.success(request, _("Vos préférences de notification sont enregistrées."))
            return redirect("notification-preferences")
    return render(request, "worker/preferences.html", {"form": form})
