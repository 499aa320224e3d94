"""Routes of the messaging API (under /api/v1/) and pages (under /messagerie/)."""

from django.urls import path

from messaging import apis, views

C = "conversations/<uuid:code>/"
M = "messagerie/<uuid:code>/"

api_urlpatterns = [
    path("conversations/", apis.ConversationListApi.as_view(), name="api-conversations"),
    path(C, apis.ConversationDetailApi.as_view(), name="api-conversation"),
    path(f"{C}messages/", apis.ConversationMessagesApi.as_view(), name="api-conversation-messages"),
    path(
        f"{C}messages/<uuid:message_code>/redact/",
        apis.MessageRedactApi.as_view(),
        name="api-message-redact",
    ),
    path(f"{C}read/", apis.ConversationReadApi.as_view(), name="api-conversation-read"),
    path(
        f"{C}participants/",
        apis.ConversationParticipantsApi.as_view(),
        name="api-conversation-participants",
    ),
    path(f"{C}leave/", apis.ConversationLeaveApi.as_view(), name="api-conversation-leave"),
    path(
        f"{C}attachments/<uuid:attachment_code>/",
        apis.AttachmentDownloadApi.as_view(),
        name="api-messaging-attachment",
    ),
]

urlpatterns = [
    path("messagerie/", views.inbox, name="messaging-inbox"),
    path("messagerie/nouvelle/", views.compose, name="messaging-compose"),
    path("messagerie/destinataires/", views.recipients, name="messaging-recipients"),
    path(M, views.conversation, name="messaging-conversation"),
    path(f"{M}nouveaux/", views.poll, name="messaging-poll"),
    path(f"{M}lu/", views.mark_read, name="messaging-read"),
    path(f"{M}participants/", views.add_participant, name="messaging-add-participant"),
    path(f"{M}quitter/", views.leave, name="messaging-leave"),
    path(f"{M}messages/<uuid:message_code>/retirer/", views.redact, name="messaging-redact"),
    path(f"{M}pieces/<uuid:attachment_code>/", views.download, name="messaging-attachment"),
]
