"""The OpenAPI schema holds to its own rules, as a strict validator reads them.

Schemathesis checks answers against the schema; it does not check that the schema's defaults and
examples obey the schema, nor does it check string formats it does not know. A client generator
or a validating proxy does: one `default: ''` next to an enum made a strict validator reject the
whole document, and `format: time` promised RFC 3339 times (`08:30:00+01:00`) where the guide
answers `08:30`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from rest_framework.test import APIClient

from directory.models import Organisation

pytestmark = pytest.mark.django_db

# RFC 3339 full-date, full-time and date-time: what OpenAPI's `format` means (Data Types).
RFC3339_TIME = re.compile(
    r"^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I
)
RFC3339_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMATS = jsonschema.FormatChecker()
FORMATS.checks("time")(lambda value: not isinstance(value, str) or bool(RFC3339_TIME.match(value)))
FORMATS.checks("date")(lambda value: not isinstance(value, str) or bool(RFC3339_DATE.match(value)))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def as_json_schema(node: Any, document: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema object as plain JSON Schema: references inlined, `nullable` spelt
    out as a null alternative, OpenAPI-only keywords dropped."""
    if isinstance(node, list):
        return [as_json_schema(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        return as_json_schema(document["components"]["schemas"][name], document)
    converted = {
        key: as_json_schema(value, document)
        for key, value in node.items()
        if key not in ("nullable", "example", "readOnly", "writeOnly", "discriminator")
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def check(value: Any, node: dict[str, Any], document: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(as_json_schema(node, document), format_checker=FORMATS)
    validator.validate(value)


def parameters(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                yield f"{method.upper()} {path} {parameter['name']}", parameter


def schema_nodes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from schema_nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schema_nodes(value, f"{where}[{index}]")


def test_every_parameter_default_is_a_value_the_parameter_accepts(schema) -> None:
    wrong = []
    for name, parameter in parameters(schema):
        declared = parameter.get("schema", {})
        if "default" not in declared:
            continue
        try:
            check(declared["default"], declared, schema)
        except jsonschema.ValidationError as error:
            wrong.append(f"{name}: default {declared['default']!r}: {error.message}")
    assert not wrong, "\n".join(wrong)


def test_every_default_and_example_in_the_components_obeys_its_own_schema(schema) -> None:
    wrong = []
    for where, node in schema_nodes(schema["components"]["schemas"]):
        for keyword in ("default", "example"):
            if keyword in node and ("type" in node or "enum" in node or "pattern" in node):
                try:
                    check(node[keyword], node, schema)
                except jsonschema.ValidationError as error:
                    wrong.append(f"{where} {keyword} {node[keyword]!r}: {error.message}")
    assert not wrong, "\n".join(wrong)


def test_the_guide_answers_times_in_the_format_it_declares(schema, demo, client_for) -> None:
    pharmacy = Organisation.objects.get(name="Pharmacie de la Loire")
    path = "/api/v1/guide/organisations/{code}/"
    url = path.format(code=pharmacy.code)
    hours = {"weekday": 2, "starts_at": "08:30", "ends_at": "12:15:00", "location": "Officine"}
    coordinator = client_for(demo["coord"])
    saved = coordinator.put(url, {"themes": [], "office_hours": [hours]}, format="json")
    assert saved.status_code == 200, saved.json()

    for answer, operation in (
        (saved, schema["paths"][path]["put"]),
        (coordinator.get(url), schema["paths"][path]["get"]),
        (coordinator.get("/api/v1/guide/"), schema["paths"]["/api/v1/guide/"]["get"]),
    ):
        assert answer.status_code == 200
        declared = operation["responses"]["200"]["content"]["application/json"]["schema"]
        check(answer.json(), declared, schema)
    assert saved.json()["office_hours"][0]["ends_at"] == "12:15"


def test_the_time_checker_of_this_test_can_fail() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator({"format": "time"}, format_checker=FORMATS).validate("08:30")
