"""The adapter to the other apps' monthly counts, on a stub registry this test suite owns."""

from __future__ import annotations

from datetime import date

import pytest

from liaison.outputs.counters import COUNTERS, monthly_counts
from tests.outputs import stub_counters
from tests.outputs.stub_counters import BROKEN_REGISTRY, MISSING_REGISTRY, STUB_REGISTRY

START, END = date(2026, 1, 1), date(2026, 3, 31)


def test_it_calls_the_provider_with_the_period_and_the_organisation() -> None:
    stub_counters.CALLS.clear()
    marker = object()
    counts = monthly_counts("messages_exchanged", START, END, marker, registry=STUB_REGISTRY)
    assert counts == {"2026-01": 7, "2026-02": 3, "2031-01": 99}
    assert [("messages", START, END, marker)] == stub_counters.CALLS


def test_a_missing_module_or_function_means_no_figures() -> None:
    assert monthly_counts("messages_exchanged", START, END, registry=MISSING_REGISTRY) is None
    assert monthly_counts("protocols_acknowledged", START, END, registry=MISSING_REGISTRY) is None


def test_an_error_inside_a_provider_is_not_hidden() -> None:
    with pytest.raises(ModuleNotFoundError, match="a_dependency_that_is_not_installed"):
        monthly_counts("messages_exchanged", START, END, registry=BROKEN_REGISTRY)


def test_the_real_registry_names_the_agreed_functions() -> None:
    assert COUNTERS == {
        "messages_exchanged": ("messaging.selectors", "monthly_message_counts"),
        "protocols_acknowledged": ("protocols.selectors", "monthly_acknowledgement_counts"),
        "protocols_in_force": ("protocols.selectors", "monthly_protocols_in_force"),
        "protocol_participants": ("protocols.selectors", "monthly_protocol_participants"),
        "patients_included": ("protocols.selectors", "monthly_inclusion_counts"),
    }
