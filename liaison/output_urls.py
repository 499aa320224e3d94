"""Routes of the liaison outputs: print/PDF, FHIR documents, coordinator indicators."""

api_urlpatterns: list = []
urlpatterns: list = []
