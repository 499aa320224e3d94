"""Routes of the Pro Santé Connect login, under /connexion/ (left open by the 2FA guard)."""

from django.urls import path

from directory.psc import views

urlpatterns = [
    path("connexion/psc/", views.start, name="psc-login"),
    path("connexion/psc/retour/", views.callback, name="psc-callback"),
]
