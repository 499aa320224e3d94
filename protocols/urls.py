"""Routes of the protocols API and pages."""

api_urlpatterns: list = []
urlpatterns: list = []
