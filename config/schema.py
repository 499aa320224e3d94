"""OpenAPI post-processing: document the error answers every endpoint can give.

drf-spectacular describes the success bodies; the errors come from one exception handler
(security/api.py) and have one of two shapes, so they are added here once for every operation.
So is the `Idempotent-Replayed` header of every operation that takes an `Idempotency-Key`.
"""

from __future__ import annotations

import copy
from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": "Either `{detail, code}` or field errors `{field: [message, ...]}`.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": True,
}

ERRORS = {
    "400": "Invalid input: the body names each faulty field and the reason.",
    "401": "Not authenticated.",
    "403": "Authenticated but not allowed (e.g. not an active CPTS member).",
    "404": "Not found, or not visible to the caller (the two are indistinguishable on purpose).",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "415": "Unsupported media type.",
    "429": "Too many requests.",
    "503": (
        "Temporarily unavailable (the database or another service the request needs): "
        "retry after the `Retry-After` seconds, with the same `Idempotency-Key` if any."
    ),
}
HEADERS = {
    "503": {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    }
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": (
            "`true` when this answer replays the first request made with the same "
            "`Idempotency-Key` (nothing was done again); absent otherwise."
        ),
        "schema": {"type": "string", "enum": ["true"]},
        "required": False,
    }
}
WRITE_ERRORS = {
    "409": "The current state of the object forbids this action.",
    "412": "Stale edit: the object changed since the given ETag.",
    "413": "The request body is over a size limit (see DATA_UPLOAD_MAX_MEMORY_SIZE).",
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if method in ("post", "put", "patch", "delete"):
                errors.update(WRITE_ERRORS)
            for status, description in errors.items():
                response = {
                    "description": description,
                    "content": {"application/json": {"schema": ref}},
                }
                if status in HEADERS:
                    response["headers"] = copy.deepcopy(HEADERS[status])
                responses.setdefault(status, response)
            if _takes_idempotency_key(operation):
                for status, response in responses.items():
                    if status.startswith("2"):
                        response.setdefault("headers", {}).update(copy.deepcopy(REPLAYED_HEADER))
    return result


def _takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key"
        for parameter in operation.get("parameters", [])
    )
