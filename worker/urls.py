"""Routes of the notifications API (under /api/v1/) and pages (under /notifications/)."""

from django.urls import path

from worker import apis, views

api_urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="api-notifications"),
    path(
        "notifications/read-all/",
        apis.NotificationReadAllApi.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/preferences/",
        apis.NotificationPreferencesApi.as_view(),
        name="api-notification-preferences",
    ),
    path("notifications/test/", apis.NotificationTestApi.as_view(), name="api-notification-test"),
    path(
        "notifications/failed/",
        apis.FailedNotificationListApi.as_view(),
        name="api-notifications-failed",
    ),
    path(
        "notifications/<uuid:code>/read/",
        apis.NotificationReadApi.as_view(),
        name="api-notification-read",
    ),
    path(
        "notifications/<uuid:code>/retry/",
        apis.NotificationRetryApi.as_view(),
        name="api-notification-retry",
    ),
]

urlpatterns = [
    path("", views.notification_list, name="notifications"),
    path("preferences/", views.notification_preferences, name="notification-preferences"),
    path("tout-lu/", views.mark_all_read, name="notifications-read-all"),
    path("test/", views.send_test, name="notification-test"),
    path("<uuid:code>/", views.open_notification, name="notification-open"),
    path("<uuid:code>/lue/", views.mark_read, name="notification-read"),
]
