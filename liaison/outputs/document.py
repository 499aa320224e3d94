"""A sheet as a readable document: what the print view and the PDF both show.

One function builds it, so paper and screen cannot disagree: the identity line repeated on
every page, the document's date, the filled sections in DOMAIN.md's order (the order of
`liaison.forms`, with no empty heading), who sent it and who signs it. Values are turned into
French text here (choice labels, dd/mm/yyyy dates, Oui/Non); the templates only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from liaison import forms
from liaison.models import LiaisonSheet

SEX = dict(forms.SEX)
IDENTITY = dict(forms.IDENTITY)
# Form sections the signature block prints (the discharge letter's signing doctor and
# contact): a heading of their own would repeat the signature, or stand empty above it.
SIGNATURE_SECTIONS = frozenset({"signature"})


@dataclass(frozen=True)
class DocumentField:
    label: str
    text: str = ""  # may hold newlines
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def is_table(self) -> bool:
        return bool(self.columns)


@dataclass(frozen=True)
class DocumentSection:
    key: str
    title: str
    fields: list[DocumentField]


@dataclass(frozen=True)
class Person:
    role: str
    name: str
    details: str = ""


@dataclass(frozen=True)
class Document:
    title: str
    identity: str  # the line repeated on every page
    identity_details: list[str]
    document_date: str
    status: str
    facts: list[tuple[str, str]]
    sections: list[DocumentSection]
    sender: Person
    signer: Person
    recipients_title: str
    recipients: list[Person]


def french_date(value: Any) -> str:
    """An ISO date (or date/datetime) as dd/mm/yyyy; anything else unchanged."""
    if isinstance(value, datetime):
        return localtime(value).strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)


def _label(choices: list[tuple[str, Any]], value: str) -> str:
    return str(dict(choices).get(value, value))


def _field_text(spec: forms.Field, value: Any) -> str:
    if spec.kind == "select":
        return _label(spec.choices, value)
    if spec.kind == "date":
        return french_date(value)
    if spec.kind == "yesno":
        return _("Oui") if value == "true" else _("Non")
    if spec.kind == "check":
        return _("Oui")
    return str(value)


def _cell(column: forms.Column, value: Any) -> str:
    if column.kind == "select":
        return _label(column.choices, value)
    if column.kind == "date":
        return french_date(value) if value else ""
    return str(value)


def document_sections(sheet: LiaisonSheet) -> list[DocumentSection]:
    """The filled sections of the sheet, in the form's order, as French text."""
    sections = []
    for section in forms.filled_sections(sheet.kind, sheet.patient or {}, sheet.content or {}):
        if section["key"] in SIGNATURE_SECTIONS:
            continue  # the signature block says it, under the signature
        fields = []
        for bound in section["fields"]:
            spec: forms.Field = bound["spec"]
            if spec.kind == "rows":
                fields.append(
                    DocumentField(
                        label=str(spec.label),
                        columns=[str(column.label) for column in spec.columns],
                        rows=[
                            [_cell(column, value) for column, value in row]
                            for row in bound["value"]
                        ],
                    )
                )
            else:
                fields.append(
                    DocumentField(label=str(spec.label), text=_field_text(spec, bound["value"]))
                )
        sections.append(
            DocumentSection(key=section["key"], title=str(section["title"]), fields=fields)
        )
    return sections


def identity_line(patient: dict[str, Any]) -> str:
    """BIRTH NAME (usage USED) Given names, born on …, sex: how a patient is recognised."""
    name = (patient.get("birth_family_name") or "").upper() or _("Patient non identifié")
    if patient.get("used_family_name"):
        name += f" ({_('usage')} {patient['used_family_name'].upper()})"
    if patient.get("given_names"):
        name += f" {patient['given_names']}"
    parts = [name]
    if patient.get("birth_date"):
        born = _("née le") if patient.get("sex") == "F" else _("né(e) le")
        parts.append(f"{born} {french_date(patient['birth_date'])}")
    if patient.get("sex"):
        parts.append(str(SEX.get(patient["sex"], patient["sex"])))
    if patient.get("ins"):
        parts.append(f"INS {patient['ins']}")
    return " — ".join(parts)


def _labelled(label: str, value: str) -> str:
    """ "Identité : Qualifiée", with the colon of the reader's language ("Identity: ...")."""
    return _("%(label)s : %(value)s") % {"label": label, "value": value}


def _identity_details(patient: dict[str, Any]) -> list[str]:
    status = patient.get("identity_status") or "PROV"
    details = [_labelled(_("Identité"), str(IDENTITY.get(status, status)))]
    if patient.get("birth_place_insee"):
        details.append(_labelled(_("Lieu de naissance (code INSEE)"), patient["birth_place_insee"]))
    if patient.get("address"):
        details.append(_labelled(_("Adresse"), patient["address"]))
    if patient.get("phone"):
        details.append(_labelled(_("Téléphone"), patient["phone"]))
    return details


def _organisation_name(organisation: Any) -> str:
    if organisation is None:
        return ""
    parent = getattr(organisation, "parent", None)
    return f"{parent.name} — {organisation.name}" if parent else organisation.name


def _member_details(member: Any) -> str:
    parts = [str(member.get_profession_display())]
    if member.specialty:
        parts.append(member.specialty)
    if member.rpps:
        parts.append(f"RPPS {member.rpps}")
    return ", ".join(parts)


def document_date(sheet: LiaisonSheet) -> str:
    """The date the document carries: when it was sent, or when the draft was started."""
    return french_date(sheet.sent_at or sheet.created_at)


def referring_doctor(sheet: LiaisonSheet) -> Person | None:
    """The médecin adresseur of a discharge letter: who wrote the referral it answers.

    R1112-1-2 wants the letter to identify the praticien adresseur, not only to send it to
    them. The médecin traitant would be printed the same way, but Part A declares none yet
    (DOMAIN.md Part A has no field for it), so nothing is printed for them.
    """
    if sheet.is_referral or sheet.referral_id is None:
        return None
    author = sheet.referral.author
    return Person(
        role=_("Médecin adresseur"),
        name=author.display_name,
        details=" — ".join(
            filter(
                None,
                [_member_details(author), _organisation_name(sheet.referral.sender_organisation)],
            )
        ),
    )


def build_document(sheet: LiaisonSheet) -> Document:
    """Everything a printed sheet shows. Expects the sheet as `access_sheet` returns it."""
    patient = sheet.patient or {}
    content = sheet.content or {}
    author = sheet.author
    sender = Person(
        role=_("Émetteur"),
        name=author.display_name,
        details=" — ".join(
            filter(None, [_member_details(author), _organisation_name(sheet.sender_organisation)])
        ),
    )
    sent = sheet.sent_at is not None
    signed = (
        _("Signé électroniquement le %(date)s")
        % {"date": localtime(sheet.sent_at).strftime("%d/%m/%Y %H:%M")}
        if sent
        else _("Brouillon : non signé")
    )
    if sheet.is_referral:
        signer = Person(role=_("Médecin adresseur"), name=author.display_name, details=signed)
    else:
        contact = content.get("hospital_contact") or author.display_name
        signer = Person(role=_("Médecin signataire"), name=contact, details=signed)
    role = _("En copie") if sheet.is_referral else _("Destinataire")
    recipients = [
        Person(
            role=role, name=p.member.display_name, details=str(p.member.get_profession_display())
        )
        for p in sheet.participants.all()
    ]
    facts: list[tuple[str, str]] = []
    referring = referring_doctor(sheet)
    if referring is not None:
        facts.append((referring.role, f"{referring.name} — {referring.details}"))
    if sheet.recipient_organisation_id:
        facts.append((_("Pour"), _organisation_name(sheet.recipient_organisation)))
    if sheet.sent_at:
        facts.append((_("Envoyée le"), localtime(sheet.sent_at).strftime("%d/%m/%Y %H:%M")))
    if sheet.planned_date:
        facts.append((_("Date prévue"), french_date(sheet.planned_date)))
    if not sheet.is_referral:
        facts.append((_("Version"), str(sheet.document_version)))
        if sheet.document_status == "in_progress":
            facts.append((_("Statut du document"), _("En cours : résultats attendus")))
    sections = document_sections(sheet)
    if sheet.kind == LiaisonSheet.Kind.EXPERTISE:
        signer, answer = _expertise_answer(sheet, signer)
        sections += answer
    return Document(
        title=str(sheet.get_kind_display()),
        identity=identity_line(patient),
        identity_details=_identity_details(patient),
        document_date=document_date(sheet),
        status=str(sheet.get_status_display()),
        facts=facts,
        sections=sections,
        sender=sender,
        signer=signer,
        recipients_title=_("Équipe de soins en copie") if sheet.is_referral else _("Destinataires"),
        recipients=recipients,
    )


def _expertise_answer(sheet: LiaisonSheet, signer: Person) -> tuple[Person, list[DocumentSection]]:
    """A tele-expertise request prints its answer and is signed by the expert who gave it."""
    detail = getattr(sheet, "expertise", None)
    if detail is None or detail.answered_at is None or detail.answered_by is None:
        return signer, []
    answer = detail.answer or {}
    fields = [DocumentField(label=_("Avis"), text=answer.get("opinion", ""))]
    if answer.get("recommended_actions"):
        fields.append(
            DocumentField(label=_("Conduite à tenir"), text=answer["recommended_actions"])
        )
    fields.append(
        DocumentField(label=_("Consultation"), text=str(detail.get_consultation_display()))
    )
    expert = Person(
        role=_("Médecin expert"),
        name=detail.answered_by.display_name,
        details=_("Avis rendu le %(date)s")
        % {"date": localtime(detail.answered_at).strftime("%d/%m/%Y %H:%M")},
    )
    return expert, [DocumentSection(key="answer", title=_("Avis du spécialiste"), fields=fields)]


def patient_lines(patient: dict[str, Any]) -> list[str]:
    """The identity line and its details, as the PDF prints them (the FHIR narrative too)."""
    return [identity_line(patient), *_identity_details(patient)]


def member_line(member: Any) -> str:
    """A member as the PDF names them: name — profession, specialty, RPPS."""
    return f"{member.display_name} — {_member_details(member)}"


def organisation_line(organisation: Any) -> str:
    """A service with its establishment, as the PDF names it."""
    return _organisation_name(organisation)
