"""The liaison personas' fixtures, for tests that store an identity through a sheet."""

from tests.liaison.conftest import cardiologie, make_referral  # noqa: F401  (fixtures)
