"""Routes of the messaging API and pages."""

api_urlpatterns: list = []
urlpatterns: list = []
