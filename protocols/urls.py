"""Routes of the protocols and resource guide: API (under /api/v1/) and pages (site root)."""

from django.urls import path

from protocols import apis, views
from protocols.guide import apis as guide_apis
from protocols.guide import views as guide_views

P = "protocols/<uuid:code>/"
V = f"{P}versions/<int:number>/"

api_urlpatterns = [
    path("protocols/", apis.ProtocolListApi.as_view(), name="api-protocols"),
    path(P, apis.ProtocolDetailApi.as_view(), name="api-protocol"),
    path(f"{P}versions/", apis.ProtocolVersionListApi.as_view(), name="api-protocol-versions"),
    path(V, apis.ProtocolVersionDetailApi.as_view(), name="api-protocol-version"),
    path(
        f"{V}attachment/",
        apis.ProtocolVersionAttachmentApi.as_view(),
        name="api-protocol-version-attachment",
    ),
    path(
        f"{V}submit/", apis.ProtocolVersionSubmitApi.as_view(), name="api-protocol-version-submit"
    ),
    path(
        f"{V}approve/",
        apis.ProtocolVersionApproveApi.as_view(),
        name="api-protocol-version-approve",
    ),
    path(
        f"{V}request-changes/",
        apis.ProtocolVersionRequestChangesApi.as_view(),
        name="api-protocol-version-request-changes",
    ),
    path(
        f"{V}publish/",
        apis.ProtocolVersionPublishApi.as_view(),
        name="api-protocol-version-publish",
    ),
    path(
        f"{V}retire/", apis.ProtocolVersionRetireApi.as_view(), name="api-protocol-version-retire"
    ),
    path(
        f"{V}acknowledge/",
        apis.ProtocolVersionAcknowledgeApi.as_view(),
        name="api-protocol-version-acknowledge",
    ),
    path(
        f"{P}acknowledgements/",
        apis.ProtocolAcknowledgementsApi.as_view(),
        name="api-protocol-acknowledgements",
    ),
    path(
        f"{P}participants/",
        apis.ProtocolParticipantsApi.as_view(),
        name="api-protocol-participants",
    ),
    path(
        f"{P}participants/<uuid:participation_code>/",
        apis.ProtocolParticipantDetailApi.as_view(),
        name="api-protocol-participant",
    ),
    path(
        f"{P}inclusions/",
        apis.ProtocolInclusionListApi.as_view(),
        name="api-protocol-inclusions",
    ),
    path(
        f"{P}inclusions/counts/",
        apis.ProtocolInclusionCountsApi.as_view(),
        name="api-protocol-inclusion-counts",
    ),
    path(
        f"{P}inclusions/<uuid:inclusion_code>/",
        apis.ProtocolInclusionDetailApi.as_view(),
        name="api-protocol-inclusion",
    ),
    path(
        f"{P}inclusions/<uuid:inclusion_code>/end/",
        apis.ProtocolInclusionEndApi.as_view(),
        name="api-protocol-inclusion-end",
    ),
    path(f"{P}diff/", apis.ProtocolDiffApi.as_view(), name="api-protocol-diff"),
    path("themes/", guide_apis.ThemeListApi.as_view(), name="api-themes"),
    path("guide/", guide_apis.GuideApi.as_view(), name="api-guide"),
    path("guide/pdf/", guide_apis.GuidePdfApi.as_view(), name="api-guide-pdf"),
    path(
        "guide/organisations/<uuid:code>/",
        guide_apis.OrganisationGuideApi.as_view(),
        name="api-guide-organisation",
    ),
    path(
        "guide/members/<uuid:code>/", guide_apis.MemberGuideApi.as_view(), name="api-guide-member"
    ),
]

W = "protocoles/<uuid:code>/"
WV = f"{W}versions/<int:number>/"

urlpatterns = [
    path("protocoles/", views.library, name="protocol-library"),
    path("protocoles/nouveau/", views.new_protocol, name="protocol-new"),
    path(W, views.protocol_detail, name="protocol-detail"),
    path(f"{W}comparer/", views.compare_versions, name="protocol-diff"),
    path(f"{W}nouvelle-version/", views.new_version, name="protocol-new-version"),
    path(f"{W}participants/", views.participants, name="protocol-participants"),
    path(f"{W}inclusions/", views.inclusion_list, name="protocol-inclusions"),
    path(f"{W}inclusions/nouvelle/", views.include_patient, name="protocol-include"),
    path(
        f"{W}inclusions/<uuid:inclusion_code>/sortie/",
        views.end_inclusion,
        name="protocol-inclusion-end",
    ),
    path(WV, views.version_detail, name="protocol-version"),
    path(f"{WV}modifier/", views.edit_version, name="protocol-edit"),
    path(f"{WV}relecture/", views.review_version, name="protocol-review"),
    path(f"{WV}pdf/", views.download_attachment, name="protocol-attachment"),
    path(f"{WV}action/<str:action>/", views.version_action, name="protocol-version-action"),
    path("guide/", guide_views.guide, name="guide"),
    path("guide/pdf/", guide_views.guide_pdf, name="guide-pdf"),
    path("guide/themes/", guide_views.manage_themes, name="guide-themes"),
    path(
        "guide/structures/<uuid:code>/",
        guide_views.edit_organisation_entry,
        name="guide-organisation-entry",
    ),
    path("guide/membres/<uuid:code>/", guide_views.edit_member_entry, name="guide-member-entry"),
]
