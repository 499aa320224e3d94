"""A domain error reads the same on every page that flashes it."""

from __future__ import annotations

from security.exceptions import DomainError, FieldErrors, InvalidTransition


def test_a_field_error_reads_as_all_its_messages() -> None:
    error = FieldErrors({"name": ["Obligatoire."], "slug": ["Déjà pris.", "Trop long."]})
    assert error.readable() == "Obligatoire. Déjà pris. Trop long."


def test_any_other_domain_error_reads_as_its_detail() -> None:
    assert DomainError("Action impossible.").readable() == "Action impossible."
    assert InvalidTransition("Envoi refusé.").readable() == "Envoi refusé."
