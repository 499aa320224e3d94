"""A stand-in for the messaging and protocols apps' monthly counts (the adapter's contract).

The indicator tests point the adapter's registry here, so they do not depend on whether
those apps have landed, and they can see exactly what the adapter passes and keeps.
"""

from __future__ import annotations

from datetime import date
from typing import Any

CALLS: list[tuple[str, date, date, Any]] = []

STUB_REGISTRY = {
    "messages_exchanged": ("tests.outputs.stub_counters", "monthly_message_counts"),
    "protocols_acknowledged": ("tests.outputs.stub_counters", "monthly_acknowledgement_counts"),
    "protocols_in_force": ("tests.outputs.stub_counters", "monthly_protocols_in_force"),
    "protocol_participants": ("tests.outputs.stub_counters", "monthly_protocol_participants"),
    "patients_included": ("tests.outputs.stub_counters", "monthly_inclusion_counts"),
}
MISSING_REGISTRY = {
    "messages_exchanged": ("tests.outputs.no_such_module", "monthly_message_counts"),
    "protocols_acknowledged": ("tests.outputs.stub_counters", "no_such_function"),
}
BROKEN_REGISTRY = {
    "messages_exchanged": ("tests.outputs.broken_counters", "monthly_message_counts"),
    "protocols_acknowledged": ("tests.outputs.stub_counters", "monthly_acknowledgement_counts"),
}


def monthly_message_counts(start: date, end: date, organisation: Any = None) -> dict[str, int]:
    CALLS.append(("messages", start, end, organisation))
    return {"2026-01": 7, "2026-02": 3, "2031-01": 99}  # a month outside the table is ignored


def monthly_acknowledgement_counts(
    start: date, end: date, organisation: Any = None
) -> dict[str, int]:
    CALLS.append(("acknowledgements", start, end, organisation))
    return {"2026-02": 2}


def monthly_protocols_in_force(start: date, end: date, organisation: Any = None) -> dict[str, int]:
    return {"2026-01": 1, "2026-02": 2, "2026-03": 2}


def monthly_protocol_participants(
    start: date, end: date, organisation: Any = None
) -> dict[str, int]:
    return {"2026-01": 4, "2026-02": 6, "2026-03": 5}


def monthly_inclusion_counts(start: date, end: date, organisation: Any = None) -> dict[str, int]:
    return {"2026-01": 1, "2026-03": 2}
