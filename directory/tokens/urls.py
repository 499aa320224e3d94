"""Routes of the API token endpoints (under /api/v1/) and of the account page."""

from django.urls import path

from directory.tokens import apis as token_apis
from directory.tokens import views as token_views

api_urlpatterns = [
    path("auth/tokens/", token_apis.ApiTokenListApi.as_view(), name="api-tokens-list"),
    path(
        "auth/tokens/<uuid:code>/",
        token_apis.ApiTokenRevokeApi.as_view(),
        name="api-token-revoke",
    ),
    path(
        "auth/integration-tokens/",
        token_apis.IntegrationTokenCreateApi.as_view(),
        name="api-integration-tokens",
    ),
]

urlpatterns = [
    path("", token_views.api_tokens, name="api-tokens"),
    path("<uuid:code>/revoquer/", token_views.revoke_api_token, name="api-token-revoke-page"),
]
