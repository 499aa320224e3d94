"""The base of every input serializer: a key the serializer does not declare is a 400.

DRF ignores unknown keys. For a write that is a silent wrong answer: `PATCH /me/` with
`is_staff` answers 200 and the client believes it changed something; a typo (`urgence` for
`urgency`) saves a draft without the value. Every serializer that reads a request body derives
from StrictSerializer (tests/test_architecture.py checks it), nested ones included, so the
rule holds at every level of a document: `medications[0].dosage` is refused as well.

Read-only fields are not accepted either: they are output, and echoing them back changes
nothing. Keys that an endpoint legitimately reads outside its serializer (the files of a
multipart upload) are listed in `extra_keys`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

UNKNOWN_FIELD = _("Champ inconnu.")

# Fields that bind a child of their own: copied whole, so that each copy binds its own child.
_CONTAINERS = (
    serializers.BaseSerializer,
    serializers.ListField,
    serializers.DictField,
    serializers.ManyRelatedField,
)


class Serializer(serializers.Serializer):
    """DRF's Serializer, with its fields copied at a fraction of the cost.

    DRF gives every serializer instance a deep copy of the declared fields, and deep-copying a
    field calls its `__init__` again with deep copies of its arguments: on a sheet's Part A
    document, a third of a create's CPU (encode/django-rest-framework#6328, #4587). A leaf field
    is only ever changed afterwards by assignments (`bind` sets its name, parent, source and
    label; a view may set `required`), which a shallow copy keeps to itself, and nothing here
    mutates a field's validators or messages in place (tests/test_architecture.py checks it).
    A field that holds a child (a nested serializer, a list, a many-related field) is still
    deep-copied: its child is bound to it and must not be shared between two requests.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field) if isinstance(field, _CONTAINERS) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


# Output serializers kept per thread by represent(): one instance per (class, many).
_REPRESENTERS = threading.local()


def represent(
    serializer_class: type[serializers.BaseSerializer], value: Any, *, many: bool = False
) -> Any:
    """`serializer_class(value, many=many).data`, as plain data, without building the
    serializer's fields again at every call.

    A serializer builds and binds its fields per instance (the copies above), and a sheet's
    answer made a dozen of them (the Part A document, the identity, each reference): about
    a third of the serializing. `to_representation` keeps nothing on the serializer, so one
    instance per class and thread answers every call. Only for serializers that read no
    context (none is given) and whose output needs no `.data` wrapper.
    """
    cache: dict[tuple[type, bool], serializers.BaseSerializer] = _REPRESENTERS.__dict__.setdefault(
        "cache", {}
    )
    serializer = cache.get((serializer_class, many))
    if serializer is None:
        serializer = cache[serializer_class, many] = serializer_class(many=many)
    return serializer.to_representation(value)


class StrictSerializer(Serializer):
    extra_keys: ClassVar[frozenset[str]] = frozenset()

    def accepted_keys(self) -> set[str]:
        return {name for name, field in self.fields.items() if not field.read_only} | set(
            self.extra_keys
        )

    def to_internal_value(self, data: Any) -> Any:
        """The fields' own errors and the unknown keys, reported together in one 400."""
        unknown: dict[str, Any] = {}
        if isinstance(data, Mapping):
            unknown = {key: [UNKNOWN_FIELD] for key in sorted(set(data) - self.accepted_keys())}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**unknown, **error.detail}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def reject_unknown_keys(request: Request, *, allowed: Collection[str] = ()) -> None:
    """For an action that reads no body, or only its files: any other key is a 400.

    Such views never look at request.data, so without this check a client that sends, say, a
    `reason` with a redaction would get a 200 and believe it was recorded.
    """
    data = request.data
    if isinstance(data, Mapping):
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise serializers.ValidationError({key: [UNKNOWN_FIELD] for key in unknown})
    elif data:
        raise serializers.ValidationError({"non_field_errors": [_("Aucun contenu attendu.")]})


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$",
        "example": "08:30",
    }
)
class HourMinuteField(serializers.TimeField):
    """A wall-clock time, answered as `HH:MM`.

    OpenAPI's `format: time` is RFC 3339's full-time (`08:30:00+01:00`): a local opening hour
    has no offset and no seconds, so it is declared by a pattern instead of a format that its
    own answers would not match.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%H:%M")
        super().__init__(**kwargs)
