"""Routes of the audit trail API (coordinator only)."""

api_urlpatterns: list = []
