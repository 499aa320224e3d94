"""Routes of the two-factor authentication pages (enrolment, verification, recovery codes).

RequireTwoFactorMiddleware lets an unverified session reach everything under this prefix, so
each view checks on its own what the session may do there.
"""

from django.urls import path

from security.two_factor import views as two_factor_views

urlpatterns = [
    path("verifier/", two_factor_views.verify, name="two-factor-verify"),
    path("activer/", two_factor_views.enrol, name="two-factor-enrol"),
    path("confirmer/", two_factor_views.reauthenticate, name="two-factor-reauth"),
    path("codes-de-secours/", two_factor_views.recovery_codes, name="two-factor-recovery-codes"),
]
