"""Routes of the liaison outputs: print/PDF, FHIR documents, coordinator indicators.

config/urls.py places `api_urlpatterns` before liaison's own, so `liaison-sheets/from-fhir/`
is matched before `liaison-sheets/<uuid>/` could be tried.
"""

from django.urls import path

from liaison import output_apis, output_views

P = "liaison-sheets/<uuid:code>/"

api_urlpatterns = [
    path(
        "liaison-sheets/from-fhir/",
        output_apis.LiaisonSheetFromFhirApi.as_view(),
        name="api-liaison-sheet-from-fhir",
    ),
    path(f"{P}pdf/", output_apis.LiaisonSheetPdfApi.as_view(), name="api-liaison-sheet-pdf"),
    path(f"{P}fhir/", output_apis.LiaisonSheetFhirApi.as_view(), name="api-liaison-sheet-fhir"),
    path(
        "indicators/liaison/",
        output_apis.LiaisonIndicatorsApi.as_view(),
        name="api-indicators-liaison",
    ),
    path(
        "indicators/liaison/csv/",
        output_apis.LiaisonIndicatorsCsvApi.as_view(),
        name="api-indicators-liaison-csv",
    ),
]

urlpatterns = [
    path("liaison/<uuid:code>/imprimer/", output_views.print_sheet, name="liaison-print"),
    path("liaison/<uuid:code>/pdf/", output_views.download_pdf, name="liaison-pdf"),
    path("liaison/<uuid:code>/fhir/", output_views.download_fhir, name="liaison-fhir"),
    path("indicateurs/", output_views.indicators_page, name="indicators"),
    path("indicateurs/export.csv", output_views.indicators_export, name="indicators-csv"),
]
