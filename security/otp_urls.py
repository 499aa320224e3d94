"""Routes of the two-factor authentication pages (enrolment, verification, recovery codes)."""

urlpatterns: list = []
