from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import home
from directory.account.urls import urlpatterns as account_pages
from directory.account.views import LoginView
from directory.audit.urls import api_urlpatterns as audit_api
from directory.psc.urls import urlpatterns as psc_pages
from directory.tokens.urls import api_urlpatterns as tokens_api
from directory.tokens.urls import urlpatterns as token_pages
from directory.tokens.views import LogoutView
from directory.urls import api_urlpatterns as directory_api
from events.urls import api_urlpatterns as events_api
from events.urls import urlpatterns as events_pages
from liaison.expertise.urls import api_urlpatterns as expertise_api
from liaison.expertise.urls import urlpatterns as expertise_pages
from liaison.outputs.urls import api_urlpatterns as outputs_api
from liaison.outputs.urls import urlpatterns as outputs_pages
from liaison.urls import api_urlpatterns as liaison_api
from messaging.urls import api_urlpatterns as messaging_api
from messaging.urls import urlpatterns as messaging_pages
from protocols.urls import api_urlpatterns as protocols_api
from protocols.urls import urlpatterns as protocols_pages
from security.two_factor.urls import urlpatterns as two_factor_pages
from worker import views as worker_views
from worker.push import views as push_views
from worker.urls import api_urlpatterns as notifications_api
from worker.urls import urlpatterns as notifications_pages

api_v1 = [
    *directory_api,
    *outputs_api,
    *liaison_api,
    *expertise_api,
    *messaging_api,
    *protocols_api,
    *events_api,
    *audit_api,
    *tokens_api,
    *notifications_api,
]

urlpatterns = [
    path("healthz", worker_views.healthz, name="healthz"),
    path("readyz", worker_views.readyz, name="readyz"),
    # Server-Sent Events (worker/push/): served by the ASGI server, same origin as the pages.
    path("evenements/", push_views.stream, name="push-stream"),
    # Tells a deactivated member why they cannot log in (directory/account/views.py).
    path("connexion/", LoginView.as_view(), name="login"),
    # Pro Santé Connect, the login of health professionals (directory/psc/).
    *psc_pages,
    *account_pages,
    # Also revokes the API tokens bound to the session (directory/tokens/views.py).
    path("deconnexion/", LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves its init script as a file: the CSP forbids inline scripts.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="security/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("securite/2fa/", include(two_factor_pages)),
    path("securite/jetons/", include(token_pages)),
    path("notifications/", include(notifications_pages)),
    path("agenda/", include(events_pages)),
    path("liaison/avis/", include(expertise_pages)),
    path("liaison/", include("liaison.urls")),
    path("", home.dashboard, name="home"),
    path("", include(outputs_pages)),
    path("", include(messaging_pages)),
    path("", include(protocols_pages)),
    path("", include("directory.urls")),
]

handler400 = "config.errors.bad_request"
handler404 = "config.errors.not_found"
handler500 = "config.errors.internal_error"
