from django.urls import path

from liaison import apis, views

P = "liaison-sheets/<uuid:code>/"

api_urlpatterns = [
    path("liaison-sheets/", apis.LiaisonSheetListApi.as_view(), name="api-liaison-sheets"),
    path(
        "liaison-sheets/known-identity/",
        apis.KnownIdentityApi.as_view(),
        name="api-liaison-known-identity",
    ),
    path(P, apis.LiaisonSheetDetailApi.as_view(), name="api-liaison-sheet"),
    path(f"{P}send/", apis.LiaisonSheetSendApi.as_view(), name="api-liaison-sheet-send"),
    path(f"{P}receive/", apis.LiaisonSheetReceiveApi.as_view()),
    path(f"{P}accept/", apis.LiaisonSheetAcceptApi.as_view()),
    path(f"{P}decline/", apis.LiaisonSheetDeclineApi.as_view()),
    path(f"{P}cancel/", apis.LiaisonSheetCancelApi.as_view()),
    path(f"{P}no-show/", apis.LiaisonSheetNoShowApi.as_view()),
    path(f"{P}reopen/", apis.LiaisonSheetReopenApi.as_view()),
    path(f"{P}close/", apis.LiaisonSheetCloseApi.as_view()),
    path(f"{P}notes/", apis.LiaisonSheetNotesApi.as_view()),
    path(f"{P}read/", apis.LiaisonSheetReadApi.as_view()),
    path(f"{P}file/", apis.LiaisonSheetFileApi.as_view(), name="api-liaison-sheet-file"),
    path(f"{P}discharge/", apis.LiaisonSheetDischargeApi.as_view()),
    path(f"{P}revise/", apis.LiaisonSheetReviseApi.as_view()),
    path(f"{P}events/", apis.LiaisonSheetEventsApi.as_view()),
    path(f"{P}attachments/", apis.LiaisonSheetAttachmentsApi.as_view()),
    path(
        f"{P}attachments/<uuid:attachment_code>/",
        apis.LiaisonSheetAttachmentDownloadApi.as_view(),
        name="api-liaison-sheet-attachment",
    ),
]

urlpatterns = [
    path("", views.worklist, name="liaison-worklist"),
    path("nouvelle/", views.new_referral, name="liaison-new-referral"),
    path("<uuid:code>/", views.sheet_detail, name="liaison-sheet"),
    path("<uuid:code>/modifier/", views.edit_sheet, name="liaison-edit"),
    path("<uuid:code>/action/<str:action>/", views.sheet_action, name="liaison-action"),
    path("<uuid:code>/pieces/<uuid:attachment_code>/", views.download_attachment,
         name="liaison-attachment"),
]  # fmt: skip
