"""Routes of the notifications API and pages."""

api_urlpatterns: list = []
urlpatterns: list = []
