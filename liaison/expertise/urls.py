"""Routes of tele-expertise: the API under expertise-requests/, the pages under liaison/avis/."""

from django.urls import path

from liaison.expertise import apis, views

P = "expertise-requests/<uuid:code>/"

api_urlpatterns = [
    path("expertise-requests/", apis.ExpertiseRequestListApi.as_view(),
         name="api-expertise-requests"),
    path("expertise-requests/billing.csv", apis.ExpertiseBillingCsvApi.as_view(),
         name="api-expertise-billing"),
    path(P, apis.ExpertiseRequestDetailApi.as_view(), name="api-expertise-request"),
    path(f"{P}send/", apis.ExpertiseRequestSendApi.as_view()),
    path(f"{P}take/", apis.ExpertiseRequestTakeApi.as_view()),
    path(f"{P}ask-more/", apis.ExpertiseRequestAskMoreApi.as_view()),
    path(f"{P}resend/", apis.ExpertiseRequestResendApi.as_view()),
    path(f"{P}answer/", apis.ExpertiseRequestAnswerApi.as_view()),
    path(f"{P}decline/", apis.ExpertiseRequestDeclineApi.as_view()),
    path(f"{P}cancel/", apis.ExpertiseRequestCancelApi.as_view()),
    path(f"{P}acknowledge/", apis.ExpertiseRequestAcknowledgeApi.as_view()),
    path(f"{P}referral/", apis.ExpertiseRequestReferralApi.as_view()),
]  # fmt: skip

urlpatterns = [
    path("", views.request_list, name="expertise-requests"),
    path("nouvelle/", views.new_request, name="expertise-new"),
    path("<uuid:code>/", views.request_detail, name="expertise-request"),
    path("<uuid:code>/action/<str:action>/", views.request_action, name="expertise-action"),
    path("<uuid:code>/images/<uuid:attachment_code>/", views.request_image,
         name="expertise-image"),
]  # fmt: skip
