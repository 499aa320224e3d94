from django.urls import path

from directory import apis, views

api_urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="api-token"),
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("ping/", apis.PingApi.as_view(), name="api-ping"),
    path("organisations/", apis.OrganisationListApi.as_view(), name="api-organisations"),
    path(
        "organisations/<uuid:code>/",
        apis.OrganisationDetailApi.as_view(),
        name="api-organisation",
    ),
    path("members/", apis.MemberListApi.as_view(), name="api-members"),
    path("members/<uuid:code>/", apis.MemberDetailApi.as_view(), name="api-member"),
    path(
        "members/<uuid:code>/organisations/",
        apis.MemberMembershipListApi.as_view(),
        name="api-member-organisations",
    ),
    path(
        "members/<uuid:code>/organisations/<uuid:organisation_code>/",
        apis.MemberMembershipApi.as_view(),
        name="api-member-organisation",
    ),
    path("directory-import/", apis.DirectoryImportApi.as_view(), name="api-directory-import"),
]

urlpatterns = [
    path("annuaire/", views.directory_search, name="directory"),
    path(
        "annuaire/organisations/<uuid:code>/",
        views.organisation_detail,
        name="organisation-detail",
    ),
    path("annuaire/membres/nouveau/", views.member_create, name="member-create"),
    path("annuaire/membres/<uuid:code>/", views.member_detail, name="member-detail"),
    path("annuaire/membres/<uuid:code>/modifier/", views.member_edit, name="member-edit"),
    path(
        "annuaire/membres/<uuid:code>/connexion/",
        views.member_login_methods,
        name="member-login-methods",
    ),
    path(
        "annuaire/membres/<uuid:code>/structures/",
        views.member_memberships,
        name="member-memberships",
    ),
    path(
        "annuaire/membres/<uuid:code>/structures/<uuid:organisation_code>/role/",
        views.membership_role,
        name="membership-role",
    ),
    path(
        "annuaire/membres/<uuid:code>/structures/<uuid:organisation_code>/retirer/",
        views.membership_end,
        name="membership-end",
    ),
    path(
        "annuaire/membres/<uuid:code>/desactiver/",
        views.member_deactivate,
        name="member-deactivate",
    ),
    path(
        "annuaire/membres/<uuid:code>/reactiver/",
        views.member_reactivate,
        name="member-reactivate",
    ),
    # Reached from the resource guide, where the coordination keeps the CPTS's map.
    path("guide/import/", views.import_directory, name="guide-import"),
    path("guide/import/modele.csv", views.import_template, name="guide-import-template"),
]
