"""The French web form of a sheet, described once and used both to render and to parse.

A form spec is a list of sections; each field names its DOMAIN.md key (dots for nested
objects, `rows` for lists). The same spec renders the page and turns the POST back into the
patient and content dictionaries that the services validate, so the form cannot drift from
the data dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

URGENCY = [
    ("routine", _("Programmée")),
    ("urgent", _("Urgente")),
    ("emergency", _("Urgence vitale")),
]
ENTRY = [("emergency", _("Urgences")), ("scheduled", _("Programmée")),
         ("transfer", _("Transfert")), ("other", _("Autre"))]  # fmt: skip
EXIT = [("home", _("Domicile")), ("ssr", _("SSR")), ("had", _("HAD")), ("ehpad", _("EHPAD")),
        ("other_hospital", _("Autre établissement")), ("other", _("Autre")),
        ("death", _("Décès"))]  # fmt: skip
CHANGE = [("new", _("Nouveau")), ("modified", _("Modifié")), ("continued", _("Poursuivi"))]
SEX = [("F", _("Féminin")), ("M", _("Masculin")), ("U", _("Inconnu"))]
IDENTITY = [("PROV", _("Provisoire")), ("RECUP", _("Récupérée")), ("VALI", _("Validée")),
            ("QUAL", _("Qualifiée"))]  # fmt: skip


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    kind: str = "text"  # text | date | select | check
    choices: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Field:
    key: str  # "reason", "patient.birth_date", "social_context.caregiver"
    label: Any
    kind: str = "text"  # text | textarea | date | select | check | yesno | lines | rows
    choices: list[tuple[str, Any]] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    required: bool = False  # required to send (shown with a mark)
    help: Any = ""


@dataclass(frozen=True)
class Section:
    title: Any
    fields: list[Field]
    key: str = ""


MEDICATION_COLUMNS = [
    Column("name", _("Médicament")), Column("dose", _("Dose")),
    Column("frequency", _("Fréquence")), Column("route", _("Voie")),
    Column("start_date", _("Début"), "date"), Column("end_date", _("Fin"), "date"),
    Column("comment", _("Commentaire")),
]  # fmt: skip
ALLERGY_COLUMNS = [Column("substance", _("Substance")), Column("reaction", _("Réaction")),
                   Column("severity", _("Gravité")), Column("status", _("Statut"))]  # fmt: skip

PATIENT = Section(_("Patient"), [
    Field("patient.birth_family_name", _("Nom de naissance"), required=True),
    Field("patient.used_family_name", _("Nom d'usage")),
    Field("patient.given_names", _("Prénoms de naissance"), required=True),
    Field("patient.birth_date", _("Date de naissance"), "date", required=True),
    Field("patient.sex", _("Sexe"), "select", SEX, required=True),
    Field("patient.identity_status", _("Statut de l'identité"), "select", IDENTITY),
    Field("patient.ins", _("INS (identité qualifiée uniquement)")),
    Field("patient.birth_place_insee", _("Lieu de naissance (code INSEE)")),
    Field("patient.address", _("Adresse")), Field("patient.phone", _("Téléphone")),
], key="patient")  # fmt: skip

REFERRAL_SECTIONS = [
    PATIENT,
    Section(_("Demande"), [
        Field("urgency", _("Urgence"), "select", URGENCY, required=True),
        Field("entry_mode", _("Mode d'entrée"), "select", ENTRY),
        Field("expected_date", _("Date souhaitée"), "date"),
        Field("reason", _("Motif"), "textarea", required=True),
    ], key="request"),
    Section(_("Traitements en cours"), [
        Field("medications", _("Traitements"), "rows", columns=MEDICATION_COLUMNS, required=True),
        Field("medications_none", _("Aucun traitement en cours"), "check"),
    ], key="medications"),
    Section(_("Allergies"), [
        Field("allergies", _("Allergies"), "rows", columns=ALLERGY_COLUMNS, required=True),
        Field("allergies_none_known", _("Aucune allergie connue"), "check"),
    ], key="allergies"),
    Section(_("Antécédents"), [
        Field("medical_history", _("Antécédents médicaux"), "textarea"),
        Field("surgical_history", _("Antécédents chirurgicaux"), "textarea"),
    ], key="history"),
    Section(_("Contexte social et entourage"), [
        Field("social_context.lives_alone", _("Vit seul(e)"), "yesno"),
        Field("social_context.home_help", _("Aides à domicile")),
        Field("social_context.caregiver", _("Aidant")),
        Field("social_context.social_worker", _("Assistant(e) social(e)")),
        Field("trusted_person.name", _("Personne de confiance")),
        Field("trusted_person.relationship", _("Lien")),
        Field("trusted_person.phone", _("Téléphone de la personne de confiance")),
        Field("emergency_contact.name", _("Personne à prévenir")),
        Field("emergency_contact.phone", _("Téléphone de la personne à prévenir")),
        Field("advance_directives", _("Directives anticipées"), "textarea"),
    ], key="social"),
    Section(_("Informations complémentaires"), [
        Field("comment", _("État actuel, autonomie, dispositifs, risques infectieux"), "textarea"),
        Field("contact_back", _("Pour me joindre")),
    ], key="comment"),
]  # fmt: skip

DISCHARGE_SECTIONS = [
    PATIENT,
    Section(_("Séjour"), [
        Field("admission_date", _("Date d'entrée"), "date", required=True),
        Field("discharge_date", _("Date de sortie"), "date", required=True),
        Field("entry_mode", _("Mode d'entrée"), "select", ENTRY, required=True),
        Field("exit_mode", _("Mode de sortie"), "select", EXIT, required=True),
        Field("reason", _("Motif de l'hospitalisation"), "textarea", required=True),
        Field("stay_summary", _("Synthèse médicale du séjour"), "textarea", required=True),
    ], key="stay"),
    Section(_("Événements du séjour"), [
        Field("adverse_events", _("Événements indésirables"), "textarea"),
        Field("mdro_search_done", _("Recherche de BMR/BHRe réalisée"), "yesno", required=True),
        Field("mdro_identified", _("BMR/BHRe identifiée")),
        Field("transfusion", _("Transfusion"), "yesno", required=True),
        Field("transfusion_incidents", _("Incidents transfusionnels")),
        Field("blood_derivatives", _("Administration de dérivés du sang"), "yesno", required=True),
        Field("blood_derivatives_incidents", _("Incidents (dérivés du sang)")),
        Field("implanted_devices", _("Dispositifs médicaux implantés"), "rows", columns=[
            Column("description", _("Dispositif")), Column("date", _("Date"), "date"),
            Column("identifier", _("Identifiant")),
        ]),
    ], key="events"),
    Section(_("Traitements de sortie"), [
        Field("discharge_medications", _("Traitements de sortie"), "rows", required=True, columns=[
            *MEDICATION_COLUMNS[:4], Column("duration", _("Durée")),
            Column("long_term", _("Au long cours"), "check"),  # then no duration is needed
            Column("change", _("Changement"), "select", CHANGE),
            *MEDICATION_COLUMNS[4:],  # Part A's start and end dates: printed as FHIR has them
        ]),
        Field("discharge_medications_none", _("Aucun traitement de sortie"), "check"),
        Field("stopped_medications", _("Traitements arrêtés"), "rows", columns=[
            Column("name", _("Médicament")), Column("reason", _("Motif de l'arrêt")),
        ]),
    ], key="medications"),
    Section(_("Suites"), [
        Field("pending_results", _("Résultats en attente"), "textarea",
              help=_("Si rempli, la lettre est « en cours » et sera complétée.")),
        Field("follow_up.acts", _("Actes à réaliser"), "lines", help=_("Un acte par ligne.")),
        Field("follow_up.exam_requests", _("Examens demandés"), "rows", columns=[
            Column("what", _("Examen")), Column("by_date", _("Avant le"), "date"),
        ]),
        Field("follow_up.consultations", _("Consultations prévues"), "rows", columns=[
            Column("with", _("Avec")), Column("date", _("Date"), "date"),
            Column("note", _("Note")),
        ]),
        Field("follow_up.recommendations", _("Recommandations"), "textarea"),
    ], key="follow_up"),
    Section(_("Allergies"), [
        Field("allergies", _("Allergies identifiées"), "rows", columns=ALLERGY_COLUMNS),
        Field("allergies_none_known", _("Aucune allergie connue"), "check"),
    ], key="allergies"),
    # Printed in the signature block, not as a section of its own (liaison.outputs.document).
    Section(_("Médecin signataire"), [
        Field("hospital_contact", _("Médecin signataire et contact"), "textarea", required=True),
    ], key="signature"),
]  # fmt: skip

SECTIONS = {"referral": REFERRAL_SECTIONS, "discharge": DISCHARGE_SECTIONS}
ROW_LIMIT = 50


def _get(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set(document: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[last] = value


# What a long-term treatment's duration reads as, on the page, in the PDF and in FHIR.
LONG_TERM = _("au long cours")


def reading_line(line: dict[str, Any]) -> dict[str, Any]:
    """A treatment line as people read it: a long-term one says so in its duration."""
    if not line.get("long_term"):
        return line
    duration = str(LONG_TERM)
    if line.get("duration"):
        duration = f"{duration} ({line['duration']})"
    return {key: value for key, value in line.items() if key != "long_term"} | {
        "duration": duration
    }


def _parse_rows(data: QueryDict, key: str, columns: list[Column]) -> list[dict[str, Any]]:
    rows = []
    for index in range(ROW_LIMIT):
        row: dict[str, Any] = {
            c.key: data.get(f"{key}-{index}-{c.key}", "").strip() for c in columns
        }
        for column in columns:
            if column.kind == "check":
                row[column.key] = True if row[column.key] else ""
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v or k == columns[0].key})
    return rows


def parse(kind: str, data: QueryDict) -> tuple[dict[str, Any], dict[str, Any]]:
    """The POSTed form as (patient, content) dictionaries, in DOMAIN.md's keys."""
    document: dict[str, Any] = {}
    for section in SECTIONS[kind]:
        for spec in section.fields:
            raw = data.get(spec.key, "")
            if spec.kind == "rows":
                value: Any = _parse_rows(data, spec.key, spec.columns)
            elif spec.kind == "check":
                value = spec.key in data
            elif spec.kind == "yesno":
                value = {"true": True, "false": False}.get(raw)
            elif spec.kind == "lines":
                value = [line.strip() for line in raw.splitlines() if line.strip()]
            elif spec.kind == "date":
                value = raw or None
            else:
                value = raw.strip()
            _set(document, spec.key, value)
    patient = document.pop("patient", {})
    return patient, document


def _errors_for(key: str, errors: dict[str, list[str]]) -> list[str]:
    """Messages about this field: its own key, or a line of it (`medications[0].dose`)."""
    return [
        f"{path} : {' '.join(map(str, messages))}" if path != key else " ".join(map(str, messages))
        for path, messages in errors.items()
        if path == key or path.startswith(f"{key}[") or path.startswith(f"{key}.")
    ]


def bound_sections(
    kind: str,
    patient: dict[str, Any],
    content: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """The sections with their current values and error messages, ready for the template."""
    errors = errors or {}
    document = {**content, "patient": patient}
    sections = []
    for section in SECTIONS[kind]:
        fields = []
        for spec in section.fields:
            value = _get(document, spec.key)
            if spec.kind == "rows":
                rows = list(value or [])
                value = [[(c, (row or {}).get(c.key) or "") for c in spec.columns] for row in rows]
            elif spec.kind == "lines":
                value = "\n".join(value or [])
            elif spec.kind == "yesno":
                value = "" if value is None else ("true" if value else "false")
            fields.append({
                "spec": spec,
                "value": value if value is not None else "",
                "errors": _errors_for(spec.key, errors),
            })  # fmt: skip
        sections.append({"title": section.title, "key": section.key, "fields": fields})
    return sections


def french_date(value: str) -> str:
    """2026-11-23 → 23/11/2026 (dates are stored ISO, read the French way)."""
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return value


def _readable(kind: str, choices: list[tuple[str, Any]], value: Any) -> Any:
    """The label a reader expects instead of the stored code ("scheduled" → "Programmée")."""
    if kind == "select":
        return str(dict(choices).get(value, value))
    if kind == "date":
        return french_date(value)
    return value


def filled_sections(
    kind: str, patient: dict[str, Any], content: dict[str, Any]
) -> list[dict[str, Any]]:
    """Only what was filled, for reading: no empty headings (as on paper), codes as labels."""
    result = []
    for section in bound_sections(kind, patient, content):
        fields = []
        for bound in section["fields"]:
            spec, value = bound["spec"], bound["value"]
            if value in ("", [], False):
                continue
            if spec.kind == "rows":
                # A ticked box reads inside its line (a long-term treatment's duration).
                lines = [reading_line({c.key: v for c, v in row}) for row in value]
                columns = [c for c in spec.columns if c.kind != "check"]
                spec = replace(spec, columns=columns)
                value = [
                    [(c, _readable(c.kind, c.choices, line.get(c.key) or "")) for c in columns]
                    for line in lines
                ]
            else:
                value = _readable(spec.kind, spec.choices, value)
            fields.append({**bound, "spec": spec, "value": value})
        if fields and section["key"] != "patient":
            result.append({**section, "fields": fields})
    return result
