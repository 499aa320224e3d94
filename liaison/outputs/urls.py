"""Routes of the liaison outputs: print/PDF, FHIR documents, coordinator indicators.

config/urls.py places `api_urlpatterns` before liaison's own, so `liaison-sheets/from-fhir/`
is matched before `liaison-sheets/<uuid>/` could be tried.
"""

from django.urls import path

from liaison.outputs import apis, views

P = "liaison-sheets/<uuid:code>/"

api_urlpatterns = [
    path(
        "liaison-sheets/from-fhir/",
        apis.LiaisonSheetFromFhirApi.as_view(),
        name="api-liaison-sheet-from-fhir",
    ),
    path(f"{P}pdf/", apis.LiaisonSheetPdfApi.as_view(), name="api-liaison-sheet-pdf"),
    path(f"{P}fhir/", apis.LiaisonSheetFhirApi.as_view(), name="api-liaison-sheet-fhir"),
    path(
        "indicators/liaison/",
        apis.LiaisonIndicatorsApi.as_view(),
        name="api-indicators-liaison",
    ),
    path(
        "indicators/liaison/csv/",
        apis.LiaisonIndicatorsCsvApi.as_view(),
        name="api-indicators-liaison-csv",
    ),
]

urlpatterns = [
    path("liaison/<uuid:code>/imprimer/", views.print_sheet, name="liaison-print"),
    path("liaison/<uuid:code>/pdf/", views.download_pdf, name="liaison-pdf"),
    path("liaison/<uuid:code>/fhir/", views.download_fhir, name="liaison-fhir"),
    path("indicateurs/", views.indicators_page, name="indicators"),
    path("indicateurs/export.csv", views.indicators_export, name="indicators-csv"),
    path("indicateurs/agenda.csv", views.agenda_indicators_export, name="indicators-agenda-csv"),
]
