"""Monthly counts owned by other apps, read through one small adapter.

The indicators table shows messages exchanged (messaging) and the protocols' activity that
D4011-4-2 follows (acknowledgements, protocols in force, professionals engaged, patients
included). Those apps
own their data and expose one function per column:

    messaging.selectors.monthly_message_counts(start, end, organisation=None)
    protocols.selectors.monthly_acknowledgement_counts(start, end, organisation=None)
    protocols.selectors.monthly_protocols_in_force(start, end, organisation=None)
    protocols.selectors.monthly_protocol_participants(start, end, organisation=None)
    protocols.selectors.monthly_inclusion_counts(start, end, organisation=None)

each returning {"YYYY-MM": count} (months without activity may be left out).

`start` and `end` are dates, both included (the first and last day of the table);
`organisation` is an Organisation or None (the whole CPTS).

The functions are imported lazily, when the table is computed: an app that is not there yet
(or not installed) gives a column with no figures ("—"), never an import error at startup.
A missing module or function means "no figures"; any other error is a bug and propagates.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

COUNTERS: dict[str, tuple[str, str]] = {
    "messages_exchanged": ("messaging.selectors", "monthly_message_counts"),
    "protocols_acknowledged": ("protocols.selectors", "monthly_acknowledgement_counts"),
    "protocols_in_force": ("protocols.selectors", "monthly_protocols_in_force"),
    "protocol_participants": ("protocols.selectors", "monthly_protocol_participants"),
    "patients_included": ("protocols.selectors", "monthly_inclusion_counts"),
}


def _function(module_name: str, function_name: str) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        # Only the module we asked for (or its package) being absent means "not there yet";
        # a missing dependency *inside* it is a bug to surface.
        parts = module_name.split(".")
        if error.name in {".".join(parts[: i + 1]) for i in range(len(parts))}:
            return None
        raise
    return getattr(module, function_name, None)


def monthly_counts(
    name: str,
    start: date,
    end: date,
    organisation: Any = None,
    *,
    registry: dict[str, tuple[str, str]] | None = None,
) -> dict[str, int] | None:
    """The counts of column `name` by "YYYY-MM", or None when its provider does not exist."""
    module_name, function_name = (registry or COUNTERS)[name]
    function = _function(module_name, function_name)
    if function is None:
        return None
    counts = function(start, end, organisation=organisation)
    return {str(month): int(value) for month, value in counts.items()}
