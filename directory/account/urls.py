"""Routes of the account page (under /compte/) and of the forgotten password (under /connexion/,
which the second-factor guard leaves open)."""

from django.urls import path

from directory.account import views

urlpatterns = [
    path("compte/", views.account, name="account"),
    path("compte/mot-de-passe/", views.change_password, name="account-password"),
    path("compte/langue/", views.change_language, name="account-language"),
    path(
        "connexion/mot-de-passe-oublie/",
        views.PasswordResetView.as_view(),
        name="password-reset",
    ),
    path(
        "connexion/mot-de-passe-oublie/envoye/",
        views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "connexion/mot-de-passe-oublie/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "connexion/mot-de-passe-oublie/termine/",
        views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
]
