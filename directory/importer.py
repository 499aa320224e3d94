"""Import organisations and members into the directory from a CSV file (coordination only).

One file, one row per entry, a `type` column saying which (organisation / membre), French
headers (docs/protocols.md lists them). Every row goes through directory.services
create_organisation / create_member, which validate RPPS, ADELI and FINESS keys and
uniqueness exactly as the API does.

Apps above the directory may read more columns of the same rows (the resource guide reads
`themes`): they register an `ExtraColumn` from their AppConfig.ready(), so that the
directory, a lower floor, never imports them.

All or nothing by default: the import runs in one transaction, each row in a savepoint; at
the end the transaction is rolled back when it is a dry run, or when any row was rejected and
the coordinator did not ask to skip rejected rows. The dry run is therefore the real import,
undone: it rejects exactly what the import would reject, including a member whose
organisation is created a few rows above, or a number repeated within the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from directory import actions
from directory import services as directory_services
from directory.models import Member, Membership, Organisation, User
from directory.selectors import is_coordinator
from security import audit
from security.exceptions import DomainError, FieldErrors, PermissionDenied
from security.text import fold

ORGANISATION_TYPES = {"organisation", "structure"}
MEMBER_TYPES = {"membre", "member", "professionnel"}
COLUMNS = (
    "type",
    "nom",
    "prenom",
    "profession",
    "specialite",
    "rpps",
    "adeli",
    "structure",
    "type_structure",
    "finess",
    "adresse",
    "code_postal",
    "commune",
    "telephone",
    "email",
    "identifiant",
)
# Model field -> CSV column, so that a rejection names the column the coordinator typed.
FIELD_COLUMNS = {
    "family_name": "nom",
    "given_name": "prenom",
    "name": "nom",
    "kind": "type_structure",
    "username": "identifiant",
    "postcode": "code_postal",
    "address": "adresse",
    "phone": "telephone",
    "specialty": "specialite",
    "parent": "structure",
}
# Common ways of writing a profession that are neither its code nor its label.
PROFESSION_ALIASES = {
    "infirmiere": "infirmier",
    "ide": "infirmier",
    "idel": "infirmier",
    "medecin": "medecin_generaliste",
    "generaliste": "medecin_generaliste",
    "specialiste": "medecin_specialiste",
    "kine": "masseur_kinesitherapeute",
    "kinesitherapeute": "masseur_kinesitherapeute",
    "pharmacienne": "pharmacien",
    "sage-femme": "sage_femme",
    "dentiste": "chirurgien_dentiste",
    "assistante sociale": "assistant_service_social",
    "assistant social": "assistant_service_social",
    "secretaire": "secretaire_medicale",
    "coordinatrice": "coordinateur",
}


class RowStatus(models.TextChoices):
    OK = "ok"
    REJECTED = "rejected"


@dataclass
class RowResult:
    line: int
    kind: str
    label: str
    status: str = "ok"  # "ok" (imported, or would be in a dry run) or "rejected"
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    skip_invalid: bool
    rows: list[RowResult] = field(default_factory=list)
    organisations_created: int = 0
    members_created: int = 0
    imported: bool = False  # whether anything was committed

    @property
    def rejected(self) -> list[RowResult]:
        return [row for row in self.rows if row.status == "rejected"]

    @property
    def accepted(self) -> int:
        return len(self.rows) - len(self.rejected)


class RowRejected(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ExtraColumn:
    """A column that another app reads from each imported row, into its own tables.

    `parse(row)` runs before the row's organisation or member is created, and raises
    RowRejected to reject the row; `save(entry, parsed)` runs after, in the row's savepoint,
    with what `parse` returned.
    """

    name: str
    parse: Callable[[dict[str, str]], Any]
    save: Callable[[Organisation | Member, Any], None]


_EXTRA_COLUMNS: dict[str, ExtraColumn] = {}


def register_column(column: ExtraColumn) -> None:
    """Read `column` in every import from now on (call it from AppConfig.ready())."""
    _EXTRA_COLUMNS[column.name] = column


def columns() -> tuple[str, ...]:
    """Every column a file may hold: the directory's own, then the registered ones."""
    return (*COLUMNS, *_EXTRA_COLUMNS)


def _parse_extras(row: dict[str, str]) -> dict[str, Any]:
    return {name: column.parse(row) for name, column in _EXTRA_COLUMNS.items()}


def _save_extras(entry: Organisation | Member, parsed: dict[str, Any]) -> None:
    for name, value in parsed.items():
        _EXTRA_COLUMNS[name].save(entry, value)


def _lookup(choices: Sequence[tuple[str, object]], aliases: dict[str, str]) -> dict[str, str]:
    table = {}
    for value, label in choices:
        table[fold(value)] = value
        table[fold(str(label))] = value
    table.update({fold(alias): value for alias, value in aliases.items()})
    return table


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 (a CSV saved by a French Excel)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return text.replace("\x00", "")  # PostgreSQL refuses NUL in text, and no name holds one


def read_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) with normalised headers; the delimiter is `;` or `,`."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        if reader.fieldnames is None:
            raise FieldErrors({"file": [_("Le fichier est vide.")]})
        headers = [fold(name or "").strip().replace(" ", "_") for name in reader.fieldnames]
        if "type" not in headers or "nom" not in headers:
            raise FieldErrors(
                {"file": [_("Colonnes « type » et « nom » attendues (voir le modèle).")]}
            )
        reader.fieldnames = headers
        for row in reader:
            values = {key: str(value or "").strip() for key, value in row.items() if key}
            if any(values.values()):
                yield reader.line_num, values
    except csv.Error as exc:
        raise FieldErrors(
            {"file": [_("Fichier CSV illisible (ligne %(n)d).") % {"n": reader.line_num}]}
        ) from exc


def _messages(error: ValidationError | DomainError) -> list[str]:
    if isinstance(error, FieldErrors):
        items = error.fields.items()
    elif isinstance(error, DomainError):
        return [error.detail]
    elif hasattr(error, "error_dict"):
        items = error.message_dict.items()
    else:
        return list(error.messages)
    return [
        f"{FIELD_COLUMNS.get(name, name)} : {message}" if name != "__all__" else message
        for name, messages in items
        for message in messages
    ]


def _username(row: dict[str, str]) -> str:
    if row.get("identifiant"):
        return row["identifiant"]
    base = re.sub(r"[^a-z0-9]+", "-", fold(f"{row.get('prenom', '')}.{row.get('nom', '')}")).strip(
        "-"
    )
    base = (base or "membre")[:140]
    candidate, suffix = base, 1
    while User.objects.filter(username=candidate).exists():
        suffix += 1
        candidate = f"{base}{suffix}"
    return candidate


class _Importer:
    def __init__(self, actor: Member) -> None:
        self.actor = actor
        self.professions = _lookup(Member.Profession.choices, PROFESSION_ALIASES)
        self.kinds = _lookup(Organisation.Kind.choices, {})

    def organisation(self, row: dict[str, str]) -> Organisation:
        errors = []
        if not row.get("nom"):
            errors.append(_("nom : nom manquant."))
        kind = self.kinds.get(fold(row.get("type_structure", "")) or "other")
        if kind is None:
            errors.append(
                _("type_structure : type de structure inconnu « %(k)s ».")
                % {"k": row["type_structure"]}
            )
        extras = _parse_extras(row)
        if errors:
            raise RowRejected(errors)
        organisation = directory_services.create_organisation(
            actor=self.actor,
            name=row["nom"],
            kind=kind,
            finess=row.get("finess", ""),
            address=row.get("adresse", ""),
            postcode=row.get("code_postal", ""),
            commune=row.get("commune", ""),
            phone=row.get("telephone", ""),
            email=row.get("email", ""),
        )
        _save_extras(organisation, extras)
        return organisation

    def member(self, row: dict[str, str]) -> Member:
        errors = []
        if not row.get("nom") or not row.get("prenom"):
            errors.append(_("nom, prenom : nom ou prénom manquant."))
        profession = self.professions.get(fold(row.get("profession", "")))
        if profession is None:
            shown = row.get("profession") or _("(vide)")
            errors.append(_("profession : profession inconnue « %(p)s ».") % {"p": shown})
        organisations = []
        if row.get("structure"):
            found = list(Organisation.objects.filter(name__iexact=row["structure"])[:2])
            if len(found) != 1:
                errors.append(
                    _("structure : structure introuvable ou ambiguë « %(s)s ».")
                    % {"s": row["structure"]}
                )
            organisations = [(org, Membership.Role.MEMBER) for org in found[:1]]
        extras = _parse_extras(row)
        if errors:
            raise RowRejected(errors)
        member = directory_services.create_member(
            actor=self.actor,
            username=_username(row),
            email=row.get("email", ""),
            family_name=row["nom"],
            given_name=row["prenom"],
            profession=profession,
            specialty=row.get("specialite", ""),
            rpps=row.get("rpps", "").replace(" ", ""),
            adeli=row.get("adeli", "").replace(" ", ""),
            phone=row.get("telephone", ""),
            memberships=organisations,
        )
        _save_extras(member, extras)
        return member


def import_directory(
    *, actor: Member, fileobj: IO[bytes], dry_run: bool = True, skip_invalid: bool = False
) -> ImportReport:
    """Import a CSV of organisations and members; see the module docstring for the rules."""
    if not is_coordinator(actor):
        raise PermissionDenied(_("Seule la coordination de la CPTS importe dans l'annuaire."))
    text = decode(fileobj.read(settings.MAX_ATTACHMENT_BYTES + 1))
    rows = list(read_rows(text))
    if len(rows) > settings.DIRECTORY_IMPORT_MAX_ROWS:
        raise FieldErrors(
            {
                "file": [
                    _("%(n)d lignes au plus par import.")
                    % {"n": settings.DIRECTORY_IMPORT_MAX_ROWS}
                ]
            }
        )
    report = ImportReport(dry_run=dry_run, skip_invalid=skip_invalid)
    importer = _Importer(actor)
    with transaction.atomic():
        for line, row in rows:
            kind = fold(row.get("type", ""))
            label = " ".join(part for part in (row.get("prenom", ""), row.get("nom", "")) if part)
            result = RowResult(line=line, kind=kind, label=label or "—")
            report.rows.append(result)
            try:
                with transaction.atomic():
                    if kind in ORGANISATION_TYPES:
                        importer.organisation(row)
                        report.organisations_created += 1
                    elif kind in MEMBER_TYPES:
                        importer.member(row)
                        report.members_created += 1
                    else:
                        raise RowRejected([_("type : « organisation » ou « membre » attendu.")])
            except RowRejected as rejection:
                result.status, result.errors = "rejected", rejection.errors
            except (ValidationError, DomainError) as error:
                result.status, result.errors = "rejected", _messages(error)
        keep = not dry_run and (skip_invalid or not report.rejected)
        if keep:
            report.imported = report.organisations_created + report.members_created > 0
            audit.record(
                actor=actor,
                action=actions.DIRECTORY_IMPORT,
                extra={
                    "organisations": report.organisations_created,
                    "members": report.members_created,
                    "rejected": len(report.rejected),
                },
            )
        else:
            transaction.set_rollback(True)
    if not keep and not dry_run:
        # Rolled back: nothing was created. A dry run keeps its counts (what would be).
        report.organisations_created = report.members_created = 0
    return report
