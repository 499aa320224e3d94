"""The French catalogue of the two liaison documents (DOMAIN.md Part A), in one place.

For every field of the referral (fiche de liaison d'entrée) and of the discharge letter
(lettre de liaison de sortie): its key, its French label, its choices with their labels, its
"required to send" rule and its CI-SIS/LOINC code. Everything a person reads about a field
comes from here: the form (liaison.forms renders and parses these sections), the error
summaries and the API's error messages (`labelled_errors`), the sheet page, the print view and
the PDF (liaison.outputs.document), the FHIR narrative (liaison.outputs.fhir), and the rule
that refuses to send an incomplete document (liaison.documents.missing_for_send).

The machine keys never change (they are the API's contract); only the words do. Labels are
lazy translations, read at call time in the active language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from patients.identity import IDENTITY_STATUS_LABELS, SEX_LABELS
from security.exceptions import FieldErrors

P = ParamSpec("P")
R = TypeVar("R")

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
DOCUMENT_STATUS = [("in_progress", _("En cours")), ("final", _("Définitif"))]
SEX = list(SEX_LABELS.items())
IDENTITY = list(IDENTITY_STATUS_LABELS.items())


@dataclass(frozen=True)
class Column:
    """One column of a list field (one key of each line)."""

    key: str
    label: Any
    kind: str = "text"  # text | date | select | check
    choices: list[tuple[str, Any]] = field(default_factory=list)
    required: bool = False  # required on every line to send (dose and duration of a treatment)
    unless: str = ""  # a ticked box of the same line that lifts `required` ("long_term")


@dataclass(frozen=True)
class Field:
    key: str  # "reason", "patient.birth_date", "social_context.caregiver"
    label: Any  # what the form shows next to the field
    kind: str = "text"  # text | textarea | date | select | check | yesno | lines | rows
    choices: list[tuple[str, Any]] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    required: bool = False  # required to send (shown with a mark)
    help: Any = ""
    code: str = ""  # the CI-SIS section or entry code (LOINC, TA_ASIP), as Part A gives it
    none_key: str = ""  # a list that an explicit "none" answers instead ("medications_none")
    item: Any = ""  # one line of a list, to name it in a message ("Traitement de sortie n° 2")
    long_label: Any = ""  # the label out of its section (errors): "Nom de naissance du patient"

    @property
    def full_label(self) -> str:
        return str(self.long_label or self.label)


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
    Field("patient.birth_family_name", _("Nom de naissance"), required=True,
          long_label=_("Nom de naissance du patient")),
    Field("patient.used_family_name", _("Nom d'usage"), long_label=_("Nom d'usage du patient")),
    Field("patient.given_names", _("Prénoms de naissance"), required=True,
          long_label=_("Prénoms de naissance du patient")),
    Field("patient.birth_date", _("Date de naissance"), "date", required=True,
          long_label=_("Date de naissance du patient")),
    Field("patient.sex", _("Sexe"), "select", SEX, required=True,
          long_label=_("Sexe du patient")),
    Field("patient.identity_status", _("Statut de l'identité"), "select", IDENTITY,
          long_label=_("Statut de l'identité du patient")),
    Field("patient.ins", _("INS (identité qualifiée uniquement)"),
          long_label=_("INS du patient")),
    Field("patient.birth_place_insee", _("Lieu de naissance (code INSEE)"),
          long_label=_("Lieu de naissance du patient (code INSEE)")),
    Field("patient.address", _("Adresse"), long_label=_("Adresse du patient")),
    Field("patient.phone", _("Téléphone"), long_label=_("Téléphone du patient")),
], key="patient")  # fmt: skip

REFERRAL_SECTIONS = [
    PATIENT,
    Section(_("Demande"), [
        Field("urgency", _("Urgence"), "select", URGENCY, required=True),
        Field("entry_mode", _("Mode d'entrée"), "select", ENTRY, code="ORG-070"),
        Field("expected_date", _("Date souhaitée"), "date"),
        Field("reason", _("Motif"), "textarea", required=True, code="42349-1"),
    ], key="request"),
    Section(_("Traitements en cours"), [
        Field("medications", _("Traitements"), "rows", columns=MEDICATION_COLUMNS, required=True,
              code="42346-7", none_key="medications_none", item=_("Traitement"),
              long_label=_("Traitements en cours")),
        Field("medications_none", _("Aucun traitement en cours"), "check"),
    ], key="medications"),
    Section(_("Allergies"), [
        Field("allergies", _("Allergies"), "rows", columns=ALLERGY_COLUMNS, required=True,
              code="48765-2", none_key="allergies_none_known", item=_("Allergie")),
        Field("allergies_none_known", _("Aucune allergie connue"), "check"),
    ], key="allergies"),
    Section(_("Antécédents"), [
        Field("medical_history", _("Antécédents médicaux"), "textarea", code="11348-0"),
        Field("surgical_history", _("Antécédents chirurgicaux"), "textarea", code="47519-4"),
    ], key="history"),
    Section(_("Contexte social et entourage"), [
        Field("social_context.lives_alone", _("Vit seul(e)"), "yesno"),
        Field("social_context.home_help", _("Aides à domicile")),
        Field("social_context.caregiver", _("Aidant")),
        Field("social_context.social_worker", _("Assistant(e) social(e)")),
        Field("trusted_person.name", _("Personne de confiance")),
        Field("trusted_person.relationship", _("Lien"),
              long_label=_("Lien de la personne de confiance")),
        Field("trusted_person.phone", _("Téléphone de la personne de confiance")),
        Field("emergency_contact.name", _("Personne à prévenir")),
        Field("emergency_contact.phone", _("Téléphone de la personne à prévenir")),
        Field("advance_directives", _("Directives anticipées"), "textarea"),
    ], key="social"),
    Section(_("Informations complémentaires"), [
        Field("comment", _("État actuel, autonomie, dispositifs, risques infectieux"), "textarea",
              code="55112-7"),
        Field("contact_back", _("Pour me joindre")),
    ], key="comment"),
]  # fmt: skip

DISCHARGE_SECTIONS = [
    PATIENT,
    Section(_("Séjour"), [
        Field("admission_date", _("Date d'entrée"), "date", required=True),
        Field("discharge_date", _("Date de sortie"), "date", required=True),
        Field("entry_mode", _("Mode d'entrée"), "select", ENTRY, required=True, code="ORG-070"),
        Field("exit_mode", _("Mode de sortie"), "select", EXIT, required=True, code="ORG-074"),
        Field("reason", _("Motif de l'hospitalisation"), "textarea", required=True,
              code="42349-1"),
        Field("stay_summary", _("Synthèse médicale du séjour"), "textarea", required=True,
              code="MED-142"),
    ], key="stay"),
    Section(_("Événements du séjour"), [
        Field("adverse_events", _("Événements indésirables"), "textarea", code="MED-143"),
        Field("mdro_search_done", _("Recherche de BMR/BHRe réalisée"), "yesno", required=True,
              code="MED-309"),
        Field("mdro_identified", _("BMR/BHRe identifiée"), code="MED-144"),
        Field("transfusion", _("Transfusion"), "yesno", required=True, code="MED-145"),
        Field("transfusion_incidents", _("Incidents transfusionnels"), code="MED-146"),
        Field("blood_derivatives", _("Administration de dérivés du sang"), "yesno", required=True,
              code="MED-147"),
        Field("blood_derivatives_incidents", _("Incidents (dérivés du sang)"), code="MED-148"),
        Field("implanted_devices", _("Dispositifs médicaux implantés"), "rows", columns=[
            Column("description", _("Dispositif")), Column("date", _("Date"), "date"),
            Column("identifier", _("Identifiant")),
        ], code="46264-8", item=_("Dispositif implanté")),
    ], key="events"),
    Section(_("Traitements de sortie"), [
        Field("discharge_medications", _("Traitements de sortie"), "rows", required=True, columns=[
            *MEDICATION_COLUMNS[:1],
            Column("dose", _("Dose"), required=True),
            *MEDICATION_COLUMNS[2:4],
            Column("duration", _("Durée"), required=True, unless="long_term"),
            Column("long_term", _("Au long cours"), "check"),  # then no duration is needed
            Column("change", _("Changement"), "select", CHANGE),
            *MEDICATION_COLUMNS[4:],  # Part A's start and end dates: printed as FHIR has them
        ], code="10183-2", none_key="discharge_medications_none",
           item=_("Traitement de sortie")),
        Field("discharge_medications_none", _("Aucun traitement de sortie"), "check"),
        Field("stopped_medications", _("Traitements arrêtés"), "rows", columns=[
            Column("name", _("Médicament")),
            Column("reason", _("Motif de l'arrêt"), required=True),
        ], code="18610-6", item=_("Traitement arrêté")),
    ], key="medications"),
    Section(_("Suites"), [
        Field("pending_results", _("Résultats en attente"), "textarea", code="30954-2",
              help=_("Si rempli, la lettre est « en cours » et sera complétée.")),
        Field("follow_up.acts", _("Actes à réaliser"), "lines", help=_("Un acte par ligne."),
              code="18776-5", item=_("Acte à réaliser")),
        Field("follow_up.exam_requests", _("Examens demandés"), "rows", columns=[
            Column("what", _("Examen")), Column("by_date", _("Avant le"), "date"),
        ], code="18776-5", item=_("Examen demandé")),
        Field("follow_up.consultations", _("Consultations prévues"), "rows", columns=[
            Column("with", _("Avec")), Column("date", _("Date"), "date"),
            Column("note", _("Note")),
        ], code="18776-5", item=_("Consultation prévue")),
        Field("follow_up.recommendations", _("Recommandations"), "textarea", code="18776-5"),
    ], key="follow_up"),
    Section(_("Allergies"), [
        Field("allergies", _("Allergies identifiées"), "rows", columns=ALLERGY_COLUMNS,
              code="48765-2", item=_("Allergie")),
        Field("allergies_none_known", _("Aucune allergie connue"), "check"),
    ], key="allergies"),
    # Printed in the signature block, not as a section of its own (liaison.outputs.document).
    Section(_("Médecin signataire"), [
        Field("hospital_contact", _("Médecin signataire et contact"), "textarea", required=True),
    ], key="signature"),
]  # fmt: skip

# Tele-expertise (DOMAIN.md Part C.1): the specialty asked, the question and the context the
# expert reads, and the patient's consent to a remote opinion (required to send).
SPECIALTY = [
    ("dermatology", _("Dermatologie")), ("cardiology", _("Cardiologie")),
    ("endocrinology", _("Endocrinologie")), ("pneumology", _("Pneumologie")),
    ("geriatrics", _("Gériatrie")), ("other", _("Autre spécialité")),
]  # fmt: skip
EXPERTISE_SECTIONS = [
    PATIENT,
    Section(_("Demande d'avis"), [
        Field("specialty", _("Spécialité sollicitée"), "select", SPECIALTY, required=True),
        Field("urgency", _("Urgence"), "select", URGENCY, required=True,
              help=_("Fixe le délai de réponse attendu.")),
        Field("question", _("Question posée"), "textarea", required=True, code="42349-1"),
    ], key="question"),
    Section(_("Contexte"), [
        Field("medical_history", _("Antécédents"), "textarea", code="11348-0"),
        Field("medications", _("Traitements"), "rows", columns=MEDICATION_COLUMNS,
              code="42346-7", item=_("Traitement"), long_label=_("Traitements en cours")),
        Field("allergies", _("Allergies"), "rows", columns=ALLERGY_COLUMNS, code="48765-2",
              item=_("Allergie")),
        Field("allergies_none_known", _("Aucune allergie connue"), "check"),
        Field("comment", _("Éléments cliniques utiles"), "textarea", code="55112-7"),
    ], key="context"),
    Section(_("Consentement"), [
        Field("patient_consent", _("Le patient a été informé et consent à une télé-expertise"),
              "check", required=True),
    ], key="consent"),
]  # fmt: skip

SECTIONS = {
    "referral": REFERRAL_SECTIONS,
    "discharge": DISCHARGE_SECTIONS,
    "expertise": EXPERTISE_SECTIONS,
}

# Keys of a document that are not typed in its sections: who it goes to, and what the
# lifecycle actions ask for (liaison.states).
OTHER_FIELDS: dict[str, dict[str, Any]] = {
    "referral": {
        "recipient_organisation": _("Service hospitalier destinataire"),
        "sender_organisation": _("Structure émettrice"),
        "copy_to": _("Équipe de soins en copie"),
        "planned_date": _("Date d'admission ou de rendez-vous"),
        "note": _("Motif ou note"),
        "redirect_to": _("Service de réorientation"),
    },
    "discharge": {
        "recipients": _("Destinataires"),
        "sender_organisation": _("Structure émettrice"),
        "document_status": _("Statut du document"),
        "note": _("Note"),
    },
    "expertise": {
        "recipient_organisation": _("Service expert sollicité"),
        "sender_organisation": _("Structure du demandeur"),
        "note": _("Motif ou précisions"),
        "opinion": _("Avis"),
        "recommended_actions": _("Conduite à tenir"),
        "consultation_needed": _("Consultation nécessaire"),
        "consultation_urgency": _("Délai de consultation"),
        "suggested_organisation": _("Service suggéré"),
    },
}
PATH = re.compile(r"^(?P<key>[a-z_.]+?)(?:\[(?P<index>\d+)\](?:\.(?P<column>[a-z_]+))?)?$")


def fields_of(kind: str) -> list[Field]:
    return [spec for section in SECTIONS[kind] for spec in section.fields]


def field_of(kind: str, key: str) -> Field | None:
    return next((spec for spec in fields_of(kind) if spec.key == key), None)


def choice_label(choices: list[tuple[str, Any]], value: Any) -> str:
    """The label of a stored code ("scheduled" → "Programmée"); an unknown code as is."""
    return str(dict(choices).get(value, value))


def _lower_first(text: str) -> str:
    """ "Durée" → "durée" inside a sentence; "INS du patient" stays (an acronym)."""
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def label_of(kind: str, path: str) -> str:
    """The French name of an error's path, or "" when the catalogue does not know it.

    `patient.birth_family_name` → "Nom de naissance du patient";
    `discharge_medications[0].duration` → "Traitement de sortie n° 1, durée".
    """
    match = PATH.match(path)
    if match is None:
        return ""
    key, index, column = match["key"], match["index"], match["column"]
    spec = field_of(kind, key)
    if spec is None:
        other = OTHER_FIELDS.get(kind, {}).get(key)
        return str(other) if other is not None and index is None else ""
    if index is None:
        return spec.full_label
    line = gettext("%(item)s n° %(number)s") % {
        "item": spec.item or spec.label,
        "number": int(index) + 1,
    }
    if column is None:
        return line
    found = next((c for c in spec.columns if c.key == column), None)
    return f"{line}, {_lower_first(str(found.label))}" if found else line


def key_label(kind: str, key: str) -> str:
    """A top-level key of the content in words: its field, or the section its parts are in
    (`follow_up` → "Suites"); the key itself only if the catalogue does not know it."""
    label = label_of(kind, key)
    if label:
        return label
    for section in SECTIONS[kind]:
        if any(spec.key.startswith(f"{key}.") for spec in section.fields):
            return str(section.title)
    return key


def flat_errors(errors: dict[str, Any]) -> dict[str, list[str]]:
    """DRF's nested errors as one message list per path.

    {"discharge_medications": [{}, {"name": [...]}]} → {"discharge_medications[1].name": [...]};
    {"social_context": {"lives_alone": [...]}} → {"social_context.lives_alone": [...]}.
    """
    flat: dict[str, list[str]] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{path}.{key}" if path else str(key), inner)
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            if all(isinstance(item, dict) for item in value):
                for index, inner in enumerate(value):
                    walk(f"{path}[{index}]", inner)
            else:  # a list field's own message next to its lines: keep the messages
                for index, inner in enumerate(value):
                    walk(f"{path}[{index}]" if isinstance(inner, dict | list) else path, inner)
        elif isinstance(value, list):
            flat.setdefault(path, []).extend(str(message) for message in value)
        else:
            flat.setdefault(path, []).append(str(value))

    walk("", errors)
    return flat


def labelled_message(label: str, message: str) -> str:
    """ "Nom de naissance du patient" + "Obligatoire pour envoyer" → one sentence."""
    if not label:
        return message
    return gettext("%(label)s : %(message)s") % {"label": label, "message": _lower_first(message)}


def labelled_errors(kind: str, errors: dict[str, Any]) -> dict[str, list[str]]:
    """Each message prefixed with the French name of its field (machine keys are kept)."""
    return {
        path: [labelled_message(label_of(kind, path), message) for message in messages]
        for path, messages in flat_errors(errors).items()
    }


def labelled_field_errors(kind: str, error: FieldErrors) -> FieldErrors:
    """The same errors, by flat path, with the messages people read (the API's and pages')."""
    flat = flat_errors(error.fields)
    return FieldErrors(flat, labelled=labelled_errors(kind, flat))


def names_fields(function: Callable[P, R]) -> Callable[P, R]:
    """A liaison service whose FieldErrors name their fields in French.

    The kind of document comes from the service's `kind=` or `sheet=` keyword argument.
    """

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except FieldErrors as error:
            sheet = kwargs.get("sheet")
            kind = str(kwargs.get("kind") or getattr(sheet, "kind", ""))
            raise labelled_field_errors(kind, error) from None

    return wrapper


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
