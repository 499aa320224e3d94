"""Routes of the agenda: the API under events/, the pages under /agenda/."""

from django.urls import path

from events import apis, views

P = "events/<uuid:code>/"

api_urlpatterns = [
    path("events/", apis.EventListApi.as_view(), name="api-events"),
    path("events/check-in/", apis.CheckInApi.as_view(), name="api-event-check-in"),
    path("events/calendar-feed/", apis.CalendarFeedApi.as_view(), name="api-event-feed"),
    path("events/public/", apis.PublicEventListApi.as_view(), name="api-public-events"),
    path(
        "events/public/<uuid:code>/registrations/",
        apis.PublicRegistrationApi.as_view(),
        name="api-public-registration",
    ),
    path(P, apis.EventDetailApi.as_view(), name="api-event"),
    path(f"{P}cancel/", apis.EventCancelApi.as_view()),
    path(f"{P}register/", apis.EventRegisterApi.as_view()),
    path(f"{P}decline/", apis.EventDeclineApi.as_view()),
    path(f"{P}cancel-registration/", apis.EventCancelRegistrationApi.as_view()),
    path(f"{P}registrations/", apis.EventRegistrationsApi.as_view()),
    path(f"{P}invitations/", apis.EventInvitationsApi.as_view()),
    path(f"{P}attendance/", apis.EventAttendanceApi.as_view()),
    path(f"{P}check-in-token/", apis.EventCheckInTokenApi.as_view()),
    path(f"{P}survey/", apis.EventSurveyApi.as_view()),
    path(f"{P}survey/results/", apis.EventSurveyResultsApi.as_view()),
    path(f"{P}documents/", apis.EventDocumentListApi.as_view()),
    path(f"{P}documents/<uuid:document>/", apis.EventDocumentApi.as_view()),
    path(f"{P}event.ics", apis.EventIcsApi.as_view(), name="api-event-ics"),
]

urlpatterns = [
    path("", views.agenda, name="agenda"),
    path("nouveau/", views.new_event, name="event-new"),
    path("public/", views.public_agenda, name="agenda-public"),
    path(
        "public/<uuid:code>/inscription/",
        views.public_registration,
        name="agenda-public-registration",
    ),
    path("calendrier/<str:secret>.ics", views.calendar_feed, name="event-feed"),
    path("pointage/<str:token>/", views.check_in, name="event-check-in"),
    path("<uuid:code>/", views.event_detail, name="event-detail"),
    path("<uuid:code>/modifier/", views.edit_event, name="event-edit"),
    path("<uuid:code>/reponse/<str:answer>/", views.answer_event, name="event-answer"),
    path("<uuid:code>/emargement/", views.sign_in_list, name="event-sign-in"),
    path("<uuid:code>/qr/", views.qr_code, name="event-qr"),
    path("<uuid:code>/questionnaire/", views.survey, name="event-survey"),
    path("<uuid:code>/resultats/", views.survey_results, name="event-results"),
    path("<uuid:code>/evenement.ics", views.event_ics, name="event-ics"),
    path("<uuid:code>/documents/", views.add_document, name="event-add-document"),
    path("<uuid:code>/invitations/", views.invite, name="event-invite"),
    path("<uuid:code>/documents/<uuid:document>/", views.download_document, name="event-document"),
]
