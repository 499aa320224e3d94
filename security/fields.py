"""Model fields that encrypt their value before it reaches the database.

Why fields
----------
``security.crypto`` encrypts bytes; models want strings and JSON. These fields let a model
declare ``body = EncryptedTextField()`` and use ``note.body`` like any attribute while the
column only ever holds AES-GCM ciphertext (``bytea`` / ``BLOB``). Keys, the nonce budget and
rotation stay in one place (the settings key ring, ``manage.py rotate_keys``).

Invariants
----------
* Every ciphertext is bound to its location, ``associated_data(table, column, row id)``,
  the row id being the model's ``code`` (a UUID assigned at instantiation, never changed;
  ``row_id_field`` names another one). A ciphertext copied to another row or column raises
  :class:`~security.crypto.DecryptionError` on access instead of showing someone else's data.
* Values are decrypted lazily, on first attribute access, and cached on the instance:
  listing rows costs no decryption.
* ``save()`` re-encrypts a value only when it changed (compared as serialised bytes, so an
  in-place edit of a JSON dict is seen), when the row id changed (copied instance), or when
  the stored ciphertext is not under the primary key (old key: saving a row rotates it).
  Otherwise the stored ciphertext is written back unchanged, which keeps it stable and spares
  the key's nonce budget.
* Encrypted columns cannot be filtered, ordered by meaningfully or updated in bulk: every
  lookup except ``isnull`` raises :class:`~django.core.exceptions.FieldError` (search a
  :class:`BlindIndexField` instead), and ``QuerySet.update()`` / ``bulk_update()`` with a
  plaintext raise too (there is no row to bind the ciphertext to; use ``save()``).

Known edges
-----------
* ``.values()`` / ``.values_list()`` return the stored :class:`Ciphertext` (``bytes``), not
  the plaintext: they build no instance, so there is no row to decrypt for.
* ``dumpdata`` serialises the plaintext (it reads attributes): such dumps are health data.
* Raw saves (``loaddata``) are refused, for the same reason as ``QuerySet.update()``.
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.apps import apps
from django.core import checks, exceptions
from django.core.exceptions import FieldError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import signals
from django.db.models.fields import AutoFieldMixin
from django.db.models.query_utils import DeferredAttribute
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from security.crypto import (
    DecryptionError,
    associated_data,
    blind_index,
    blind_index_key_from_settings,
    decrypt,
    encrypt,
    key_id_of,
    keyring_from_settings,
)

__all__ = [
    "BlindIndexField",
    "Ciphertext",
    "EncryptedField",
    "EncryptedJSONField",
    "EncryptedTextField",
    "EncryptedValueField",
    "compute_blind_index",
    "encrypted_fields",
    "models_with_encrypted_fields",
]

DEFAULT_ROW_ID_FIELD = "code"


class Ciphertext(bytes):
    """A value token as stored in the database (what ``.values()`` returns).

    A distinct type so that the field can tell a value loaded from the database (to be
    decrypted on access) from a plaintext assigned by code.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<Ciphertext {len(self)} bytes>"


class EncryptedField(models.Field):
    """Base of the fields whose content is encrypted and bound to (table, column, row id).

    Also the marker of the registry used by key rotation (:func:`encrypted_fields`).
    """

    def __init__(self, *args: Any, row_id_field: str = DEFAULT_ROW_ID_FIELD, **kwargs: Any):
        self.row_id_field = row_id_field
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.row_id_field != DEFAULT_ROW_ID_FIELD:
            kwargs["row_id_field"] = self.row_id_field
        return name, path, args, kwargs

    def associated_data_for(self, instance: models.Model) -> bytes:
        """Return the AES-GCM associated data binding this field's value to ``instance``."""
        row_id = getattr(instance, self.row_id_field)
        if row_id is None or row_id == "":
            raise ValueError(
                f"{type(instance).__name__}.{self.row_id_field} is not set: encrypted field "
                f"{self.name!r} needs the row id before it can encrypt or decrypt"
            )
        return self.associated_data_for_row(row_id)

    def associated_data_for_row(self, row_id: object) -> bytes:
        """Same as :meth:`associated_data_for`, from a row id read without an instance."""
        return associated_data(self.model._meta.db_table, self.column, str(row_id))

    def _associated_data_if_loaded(self, instance: models.Model) -> bytes | None:
        """The associated data, or None while the row id is not loaded (mid ``__init__``)."""
        # A concrete field: _check_row_id_field refuses anything else at startup.
        row_field = cast("models.Field[Any, Any]", instance._meta.get_field(self.row_id_field))
        row_id = instance.__dict__.get(row_field.attname)
        if row_id is None or row_id == "":
            return None
        return self.associated_data_for_row(row_id)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_row_id_field()]

    def _check_row_id_field(self) -> list[checks.CheckMessage]:
        try:
            row_field = self.model._meta.get_field(self.row_id_field)
        except exceptions.FieldDoesNotExist:
            return [
                checks.Error(
                    f"row_id_field {self.row_id_field!r} is not a field of "
                    f"{self.model._meta.label}",
                    hint="Add `code = models.UUIDField(default=uuid.uuid4, unique=True, "
                    "editable=False)` or name an existing unique field.",
                    obj=self,
                    id="security.E001",
                )
            ]
        if (
            not isinstance(row_field, models.Field)
            or isinstance(row_field, AutoFieldMixin)
            or not (row_field.unique or row_field.primary_key)
        ):
            return [
                checks.Error(
                    f"row_id_field {self.row_id_field!r} must be unique and known before "
                    "the row is inserted (not an auto-incremented key)",
                    hint="Use a UUIDField with default=uuid.uuid4 and unique=True.",
                    obj=self,
                    id="security.E002",
                )
            ]
        return []


# --------------------------------------------------------------------------- values


class _Unread(enum.Enum):
    """Sentinel of a value loaded from the database and not decrypted yet (picklable)."""

    UNREAD = "unread"


_UNREAD = _Unread.UNREAD


@dataclass
class _Sealed:
    """What an encrypted value field keeps in ``instance.__dict__[attname]``.

    ``ciphertext`` is the last token known to be valid for this row (loaded or written),
    ``aad`` the location it is bound to (None until known), ``plaintext`` its serialised
    plaintext once known, and ``value`` the current Python value (or ``_UNREAD``).
    """

    ciphertext: bytes | None
    aad: bytes | None
    plaintext: bytes | None
    value: Any


@dataclass(frozen=True)
class _Opened:
    aad: bytes
    ciphertext: bytes
    plaintext: bytes
    value: Any


class _LastOpened(threading.local):
    opened: _Opened | None = None


_last_opened = _LastOpened()
"""The last value decrypted in this thread, so that ``refresh_from_db()`` (which copies the
*plaintext* of a freshly loaded instance onto this one) can also adopt its ciphertext rather
than re-encrypting an unchanged value on the next save."""


class EncryptedAttribute(DeferredAttribute):
    """Descriptor: decrypts on first read, records assignments for :meth:`pre_save`."""

    field: EncryptedValueField

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        return self.field._read(instance)

    def __set__(self, instance: models.Model, value: Any) -> None:
        self.field._assign(instance, value)


class EncryptedValueField(EncryptedField):
    """Base of :class:`EncryptedTextField` and :class:`EncryptedJSONField`.

    Subclasses say how a Python value becomes bytes (``to_plaintext``) and back
    (``from_plaintext``); this class does the storage, caching and lookup rules.
    """

    descriptor_class = EncryptedAttribute

    def get_internal_type(self) -> str:
        return "BinaryField"  # bytea on PostgreSQL, BLOB on SQLite

    def to_plaintext(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_plaintext(self, plaintext: bytes) -> Any:
        raise NotImplementedError

    def coerce(self, value: Any) -> Any:
        """Validate the type of an assigned (non-None) value; return the value to keep."""
        return value

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        if not cls._meta.abstract:
            # Records which row the loaded ciphertexts belong to as soon as the instance
            # is complete, so that a copied instance (new `code`) re-encrypts on save.
            signals.post_init.connect(self._bind_loaded_ciphertext, sender=cls)

    # -- descriptor side

    def _state(self, instance: models.Model) -> _Sealed:
        data = instance.__dict__
        if self.attname not in data:
            self._load_deferred(instance)
        state: _Sealed = data[self.attname]
        return state

    def _load_deferred(self, instance: models.Model) -> None:
        # One query for the ciphertext alone: refresh_from_db() would build a second
        # instance and decrypt there (and load its row id with another query).
        manager = type(instance)._base_manager.db_manager(
            instance._state.db, hints={"instance": instance}
        )
        stored = manager.filter(pk=instance.pk).values_list(self.attname, flat=True).get()
        self._assign(instance, stored)
        instance.__dict__[self.attname].aad = self._associated_data_if_loaded(instance)

    def _read(self, instance: models.Model) -> Any:
        state = self._state(instance)
        if state.value is _UNREAD:
            assert state.ciphertext is not None
            aad = state.aad or self.associated_data_for(instance)
            plaintext = decrypt(state.ciphertext, aad=aad, keyring=keyring_from_settings())
            state.aad, state.plaintext = aad, plaintext
            state.value = self.from_plaintext(plaintext)
            _last_opened.opened = _Opened(aad, state.ciphertext, plaintext, state.value)
        return state.value

    def _assign(self, instance: models.Model, value: Any) -> None:
        data = instance.__dict__
        if isinstance(value, Ciphertext):
            data[self.attname] = _Sealed(bytes(value), None, None, _UNREAD)
            return
        if value is not None:
            value = self.coerce(value)
        previous: _Sealed | None = data.get(self.attname)
        state = _Sealed(None, None, None, value)
        if previous is not None:
            state = _Sealed(previous.ciphertext, previous.aad, previous.plaintext, value)
        opened, _last_opened.opened = _last_opened.opened, None
        if (
            opened is not None
            and value is not None
            and opened.value is value
            and self._associated_data_if_loaded(instance) == opened.aad
        ):
            # The value was just decrypted from a ciphertext for this very location
            # (refresh_from_db copies it over): adopt that ciphertext as the baseline.
            state = _Sealed(opened.ciphertext, opened.aad, opened.plaintext, value)
        data[self.attname] = state

    def _bind_loaded_ciphertext(self, sender: type, instance: models.Model, **kwargs: Any) -> None:
        state = instance.__dict__.get(self.attname)
        if isinstance(state, _Sealed) and state.value is _UNREAD and state.aad is None:
            state.aad = self._associated_data_if_loaded(instance)

    # -- database side

    def pre_save(self, model_instance: models.Model, add: bool) -> Ciphertext | None:
        """Return the ciphertext to store, encrypting only when needed (see module doc)."""
        state = self._state(model_instance)
        aad = self.associated_data_for(model_instance)
        keyring = keyring_from_settings()
        primary = keyring.primary.id
        reusable = (
            state.ciphertext is not None
            and (state.aad is None or state.aad == aad)
            and _is_under(state.ciphertext, primary)
        )
        if state.value is _UNREAD:
            if reusable:
                assert state.ciphertext is not None
                return Ciphertext(state.ciphertext)
            self._read(model_instance)
        value = state.value
        if value is None:
            return None
        plaintext = self.to_plaintext(value)
        if reusable:
            assert state.ciphertext is not None
            known = state.plaintext
            if known is None:
                known = _decrypt_or_none(state.ciphertext, aad)
            if known == plaintext:
                model_instance.__dict__[self.attname] = _Sealed(
                    state.ciphertext, aad, plaintext, value
                )
                return Ciphertext(state.ciphertext)
        ciphertext = encrypt(plaintext, aad=aad, keyring=keyring)
        model_instance.__dict__[self.attname] = _Sealed(ciphertext, aad, plaintext, value)
        return Ciphertext(ciphertext)

    def from_db_value(
        self, value: Any, expression: Any, connection: BaseDatabaseWrapper
    ) -> Ciphertext | None:
        if value is None:
            return None
        return Ciphertext(value)  # psycopg returns memoryview, sqlite3 bytes

    def get_placeholder(self, value: Any, compiler: Any, connection: BaseDatabaseWrapper) -> str:
        return connection.ops.binary_placeholder_sql(value)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if value is None:
            return None
        if isinstance(value, Ciphertext):
            # The DB-API module's Binary wrapper; Django's stubs do not declare `Database`.
            return connection.Database.Binary(bytes(value))  # type: ignore[attr-defined]
        raise FieldError(
            f"{self.model._meta.label}.{self.name} is encrypted: it can only be written by "
            "saving an instance (the ciphertext is bound to the row), not by "
            "QuerySet.update(), bulk_update() or a raw save"
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(self._not_filterable(lookup_name))

    def get_transform(self, lookup_name: str) -> Any:
        raise FieldError(self._not_filterable(lookup_name))

    def _not_filterable(self, lookup_name: str) -> str:
        return (
            f"{self.model._meta.label}.{self.name} is encrypted and not filterable "
            f"({lookup_name!r}): filter on its blind index instead (a BlindIndexField set "
            "with compute_blind_index()); only 'isnull' is allowed"
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        # Field.__init__ sets db_index; Django's stubs do not declare it.
        if self.unique or self.db_index or self.primary_key:  # type: ignore[attr-defined]
            errors.append(
                checks.Error(
                    "an encrypted field cannot be unique, indexed or a primary key: "
                    "ciphertexts are randomised",
                    hint="Index a BlindIndexField next to it.",
                    obj=self,
                    id="security.E003",
                )
            )
        return errors


def _is_under(ciphertext: bytes, key_id: str) -> bool:
    try:
        return key_id_of(ciphertext) == key_id
    except DecryptionError:
        return False


def _decrypt_or_none(ciphertext: bytes, aad: bytes) -> bytes | None:
    """Plaintext of ``ciphertext`` if it decrypts at ``aad``, else None (then re-encrypt)."""
    try:
        return decrypt(ciphertext, aad=aad, keyring=keyring_from_settings())
    except DecryptionError:
        return None


class EncryptedTextField(EncryptedValueField):
    """A ``TextField`` stored encrypted. ``""`` is the default unless ``null=True``."""

    description = _("Texte chiffré")

    def to_plaintext(self, value: Any) -> bytes:
        return str(value).encode()

    def from_plaintext(self, plaintext: bytes) -> str:
        return plaintext.decode()

    def coerce(self, value: Any) -> str:
        if isinstance(value, Promise):
            return str(value)
        if not isinstance(value, str):
            raise TypeError(
                f"{self.model.__name__}.{self.name} is an encrypted text field: assign a "
                f"str, not {type(value).__name__}"
            )
        return value

    def to_python(self, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or forms.CharField,
            choices_form_class=choices_form_class,
            **{"widget": forms.Textarea, **kwargs},
        )


class EncryptedJSONField(EncryptedValueField):
    """A ``JSONField`` stored encrypted. ``None`` is SQL NULL (needs ``null=True``)."""

    description = _("Données JSON chiffrées")
    empty_strings_allowed = False
    empty_values = [None, "", [], (), {}]
    default_error_messages = {"invalid": _("Valeur JSON invalide.")}

    def __init__(
        self,
        *args: Any,
        encoder: type[json.JSONEncoder] | None = None,
        decoder: type[json.JSONDecoder] | None = None,
        **kwargs: Any,
    ) -> None:
        self.encoder = encoder
        self.decoder = decoder
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not None:
            kwargs["encoder"] = self.encoder
        if self.decoder is not None:
            kwargs["decoder"] = self.decoder
        return name, path, args, kwargs

    def to_plaintext(self, value: Any) -> bytes:
        # Compact and stable: the same value always gives the same bytes, which is how
        # save() recognises an unchanged (or changed in place) value.
        return json.dumps(
            value, cls=self.encoder, ensure_ascii=False, separators=(",", ":")
        ).encode()

    def from_plaintext(self, plaintext: bytes) -> Any:
        return json.loads(plaintext, cls=self.decoder)

    def value_to_string(self, obj: models.Model) -> Any:
        return self.value_from_object(obj)  # as JSONField: the serializer encodes it

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        try:
            self.to_plaintext(value)
        except (TypeError, ValueError):
            raise exceptions.ValidationError(
                self.error_messages["invalid"], code="invalid"
            ) from None

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or forms.JSONField,
            choices_form_class=choices_form_class,
            **{"encoder": self.encoder, "decoder": self.decoder, **kwargs},
        )


# --------------------------------------------------------------------------- blind index


_BLIND_INDEX_DEFAULTS = {"max_length": 64, "db_index": True, "editable": False, "blank": True}


class BlindIndexField(models.CharField):
    """The searchable fingerprint of an encrypted value (64 hex characters, indexed).

    The field is plain storage: the service that sets the encrypted value also sets the
    index, with :func:`compute_blind_index`, and selectors filter on it with the same
    function. Equality is the only search it supports, by design.
    """

    description = _("Index aveugle (HMAC) d'une valeur chiffrée")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for key, default in _BLIND_INDEX_DEFAULTS.items():
            kwargs.setdefault(key, default)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for key, default in _BLIND_INDEX_DEFAULTS.items():
            value = getattr(self, key)
            if value == default:
                kwargs.pop(key, None)
            else:
                kwargs[key] = value
        return name, path, args, kwargs


def compute_blind_index(purpose: str, value: str) -> str:
    """Return the blind index of ``value`` for ``purpose`` (e.g. ``"patient.ins"``).

    ``purpose`` separates domains: the same value indexed for two purposes gives unrelated
    fingerprints, so columns cannot be correlated. Values are normalised first (case,
    accents, spaces; see ``security.crypto.normalise_identifier``).
    """
    return blind_index(value, key=blind_index_key_from_settings(), purpose=purpose)


# --------------------------------------------------------------------------- registry


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    """The encrypted fields stored in ``model``'s own table (values and files).

    Only local fields: with multi-table inheritance each column is listed once, under the
    model that owns its table.
    """
    return [f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedField)]


def models_with_encrypted_fields() -> Sequence[type[models.Model]]:
    """Every installed concrete model holding an encrypted column (for key rotation)."""
    return [
        model for model in apps.get_models() if not model._meta.proxy and encrypted_fields(model)
    ]
