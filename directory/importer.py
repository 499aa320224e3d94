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
from django.utils.translation import gettext_lazy as _lazy

from directory import actions
from directory import services as directory_services
from directory.identifiers import luhn_complete, validate_adeli, validate_finess, validate_rpps
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
# What each column is called on the page and in the template file: a coordinator reads
# "Prénom", not "prenom" (headers are read accent- and case-blind, so both work).
COLUMN_LABELS = {
    "type": _lazy("Type"),
    "nom": _lazy("Nom"),
    "prenom": _lazy("Prénom"),
    "profession": _lazy("Profession"),
    "specialite": _lazy("Spécialité"),
    "rpps": _lazy("RPPS"),
    "adeli": _lazy("ADELI"),
    "structure": _lazy("Structure"),
    "type_structure": _lazy("Type de structure"),
    "finess": _lazy("FINESS"),
    "adresse": _lazy("Adresse"),
    "code_postal": _lazy("Code postal"),
    "commune": _lazy("Commune"),
    "telephone": _lazy("Téléphone"),
    "email": _lazy("E-mail"),
    "identifiant": _lazy("Identifiant"),
    "themes": _lazy("Thèmes"),
}
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
    PRESENT = "present"  # already in the directory, left as it is
    UPDATED = "updated"  # already in the directory, updated from the row


class Existing(models.TextChoices):
    """What to do with a row already in the directory: never a silent duplicate."""

    SKIP = "skip", _lazy("Laisser tel quel")
    UPDATE = "update", _lazy("Mettre à jour")


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
    existing: str = Existing.SKIP
    present: int = 0  # rows already in the directory (left as they are, or updated)

    @property
    def rejected(self) -> list[RowResult]:
        return [row for row in self.rows if row.status == "rejected"]

    @property
    def accepted(self) -> int:
        return len(self.rows) - len(self.rejected)


@dataclass(frozen=True)
class AlreadyPresent:
    """A row's entry was already in the directory (returned, not raised: an update made
    from the row must stay in the row's savepoint)."""

    updated: bool


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


def column_labels() -> list[tuple[str, str]]:
    """(column, French name) of every column, in the file's order."""
    return [(name, str(COLUMN_LABELS.get(name, name))) for name in columns()]


def template_csv() -> str:
    """The downloadable model: French headers, one structure and one professional."""
    labels = dict(column_labels())
    example = {
        "organisation": {
            "type": "organisation",
            "nom": "Cabinet infirmier des Lilas",
            "type_structure": "Cabinet",
            "code_postal": "45500",
            "commune": "Gien",
            "telephone": "02 38 00 11 22",
        },
        "membre": {
            "type": "membre",
            "nom": "Roux",
            "prenom": "Léa",
            "profession": "Infirmière",
            "rpps": luhn_complete("1000000999"),
            "structure": "Cabinet infirmier des Lilas",
        },
    }
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([labels[name] for name in columns()])
    for row in example.values():
        writer.writerow([row.get(name, "") for name in columns()])
    return out.getvalue()


def _identifier_errors(row: dict[str, str], checks: dict[str, Callable[[str], None]]) -> list[str]:
    """Every identifier of the row checked at once: a line says all that is wrong with it."""
    errors = []
    for column, check in checks.items():
        value = row.get(column, "").replace(" ", "")
        if value:
            try:
                check(value)
            except ValidationError as error:
                errors += [
                    _("%(label)s : %(value)s") % {"label": column, "value": message}
                    for message in error.messages
                ]
    return errors


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
    def __init__(self, actor: Member | None, existing: str = Existing.SKIP) -> None:
        self.actor = actor
        self.existing = existing
        self.professions = _lookup(Member.Profession.choices, PROFESSION_ALIASES)
        self.kinds = _lookup(Organisation.Kind.choices, {})

    def organisation(self, row: dict[str, str]) -> Organisation | AlreadyPresent:
        errors = []
        if not row.get("nom"):
            errors.append(_("nom : nom manquant."))
        kind = self.kinds.get(fold(row.get("type_structure", "")) or "other")
        if kind is None:
            errors.append(
                _("type_structure : type de structure inconnu « %(k)s ».")
                % {"k": row["type_structure"]}
            )
        errors += _identifier_errors(row, {"finess": validate_finess})
        extras = _parse_extras(row)
        if errors:
            raise RowRejected(errors)
        existing = self._existing_organisation(row, kind)
        if existing is not None:
            if self.existing == Existing.UPDATE:
                fields = {"address": "adresse", "postcode": "code_postal", "commune": "commune"}
                fields.update(phone="telephone", email="email")
                directory_services.update_organisation(
                    actor=self.actor,
                    organisation=existing,
                    **{f: row[c] for f, c in fields.items() if row.get(c)},
                )
                _save_extras(existing, extras)
            return AlreadyPresent(updated=self.existing == Existing.UPDATE)
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

    def _existing_organisation(self, row: dict[str, str], kind: str | None) -> Organisation | None:
        """The same structure already in the directory: same FINESS, else same name and type."""
        finess = row.get("finess", "").replace(" ", "").upper()
        if finess:
            found = Organisation.objects.filter(finess=finess).first()
            if found is not None:
                return found
        return Organisation.objects.filter(name_folded=fold(row["nom"]), kind=kind).first()

    def _existing_member(
        self,
        row: dict[str, str],
        profession: str | None,
        organisations: Sequence[tuple[Organisation, str]],
    ) -> Member | None:
        """The same professional already in the directory: same RPPS, ADELI or login, else
        same names and profession in the same structure."""
        for column, field_name in (("rpps", "rpps"), ("adeli", "adeli")):
            value = row.get(column, "").replace(" ", "")
            if value:
                found = Member.objects.filter(**{field_name: value}).first()
                if found is not None:
                    return found
        if row.get("identifiant"):
            found = Member.objects.filter(user__username=row["identifiant"]).first()
            if found is not None:
                return found
        same = Member.objects.filter(
            search_folded=fold(f"{row['prenom']} {row['nom']}"), profession=profession
        )
        if organisations:
            same = same.filter(memberships__organisation=organisations[0][0])
        return same.first()

    def _add_memberships(
        self, member: Member, organisations: Sequence[tuple[Organisation, str]]
    ) -> None:
        """Attach an updated member to the row's structure through directory.services, as
        the member page does (same rules, same audit entry). A structure the member already
        belongs to is left as it is: the file has no role column, so a coordinator listed
        in it keeps their role."""
        for organisation, role in organisations:
            if not Membership.objects.filter(member=member, organisation=organisation).exists():
                directory_services.add_membership(
                    actor=self.actor, member=member, organisation=organisation, role=role
                )

    def member(self, row: dict[str, str]) -> Member | AlreadyPresent:
        errors = []
        if not row.get("nom") or not row.get("prenom"):
            errors.append(_("nom, prenom : nom ou prénom manquant."))
        profession = self.professions.get(fold(row.get("profession", "")))
        if profession is None:
            shown = row.get("profession") or _("(vide)")
            errors.append(_("profession : profession inconnue « %(p)s ».") % {"p": shown})
        errors += _identifier_errors(row, {"rpps": validate_rpps, "adeli": validate_adeli})
        organisations = []
        if row.get("structure"):
            found = list(Organisation.objects.filter(name_folded=fold(row["structure"]))[:2])
            if len(found) != 1:
                errors.append(
                    _("structure : structure introuvable ou ambiguë « %(s)s ».")
                    % {"s": row["structure"]}
                )
            organisations = [(org, Membership.Role.MEMBER) for org in found[:1]]
        extras = _parse_extras(row)
        if errors:
            raise RowRejected(errors)
        existing = self._existing_member(row, profession, organisations)
        if existing is not None:
            if self.existing == Existing.UPDATE:
                fields = {"specialty": "specialite", "phone": "telephone", "email": "email"}
                fields.update(rpps="rpps", adeli="adeli")
                changes = {f: row[c].replace(" ", "") if c in ("rpps", "adeli") else row[c]
                           for f, c in fields.items() if row.get(c)}  # fmt: skip
                directory_services.update_member(
                    actor=self.actor, member=existing, profession=profession, **changes
                )
                self._add_memberships(existing, organisations)
                _save_extras(existing, extras)
            return AlreadyPresent(updated=self.existing == Existing.UPDATE)
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


def _import_row(importer: _Importer, report: ImportReport, line: int, row: dict[str, str]) -> None:
    """One row in its savepoint: created, already present (left or updated), or rejected."""
    kind = fold(row.get("type", ""))
    label = " ".join(part for part in (row.get("prenom", ""), row.get("nom", "")) if part)
    result = RowResult(line=line, kind=kind, label=label or "—")
    report.rows.append(result)
    try:
        with transaction.atomic():
            outcome: Organisation | Member | AlreadyPresent
            if kind in ORGANISATION_TYPES:
                outcome = importer.organisation(row)
                report.organisations_created += not isinstance(outcome, AlreadyPresent)
            elif kind in MEMBER_TYPES:
                outcome = importer.member(row)
                report.members_created += not isinstance(outcome, AlreadyPresent)
            else:
                raise RowRejected([_("type : « organisation » ou « membre » attendu.")])
        if isinstance(outcome, AlreadyPresent):
            report.present += 1
            result.status = RowStatus.UPDATED if outcome.updated else RowStatus.PRESENT
    except RowRejected as rejection:
        result.status, result.errors = "rejected", rejection.errors
    except (ValidationError, DomainError) as error:
        result.status, result.errors = "rejected", _messages(error)


def import_directory(
    *,
    actor: Member | None,
    fileobj: IO[bytes],
    dry_run: bool = True,
    skip_invalid: bool = False,
    existing: str = Existing.SKIP,
) -> ImportReport:
    """Import a CSV of organisations and members; see the module docstring for the rules.

    `actor` is the coordinator who imports, or None for the system: an import run from the
    command line without --as, whose writes and audit entries carry no actor.
    """
    if actor is not None and not is_coordinator(actor):
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
    if existing not in Existing.values:
        raise FieldErrors({"existing": [_("« skip » ou « update » attendu.")]})
    report = ImportReport(dry_run=dry_run, skip_invalid=skip_invalid, existing=existing)
    importer = _Importer(actor, existing)
    with transaction.atomic():
        for line, row in rows:
            _import_row(importer, report, line, row)
        keep = not dry_run and (skip_invalid or not report.rejected)
        if keep:
            updated = sum(row.status == RowStatus.UPDATED for row in report.rows)
            report.imported = report.organisations_created + report.members_created + updated > 0
            audit.record(
                actor=actor,
                action=actions.DIRECTORY_IMPORT,
                extra={
                    "organisations": report.organisations_created,
                    "members": report.members_created,
                    "rejected": len(report.rejected),
                    "present": report.present,
                },
            )
        else:
            transaction.set_rollback(True)
    if not keep and not dry_run:
        # Rolled back: nothing was created. A dry run keeps its counts (what would be).
        report.organisations_created = report.members_created = 0
    return report
