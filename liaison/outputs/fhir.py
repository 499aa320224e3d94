"""A sheet as a FHIR R4 document: a `Bundle` of type `document`, Composition first.

What goes where (docs/outputs.md has the full table):
- Composition: type LOINC 18761-7 (referral) or 11490-0 (discharge letter); one section per
  filled section of DOMAIN.md Part A, coded with its LOINC code (a local code where there is
  none), with a generated narrative and its entries.
- Patient with the INS under its official system (the ANS test INS under the test OID),
  FR Core identity reliability, birth names; Practitioner with RPPS; Organization with FINESS
  (services point to their establishment with `partOf`); Encounter for the stay (dates, entry
  and exit modes, urgency); MedicationStatement per treatment line, AllergyIntolerance per
  allergy; Observations for the coded yes/no and free-text items of the stay summary.
- Every entry has a `urn:uuid:` fullUrl derived from the sheet's id (uuid5), so exporting the
  same sheet twice gives the same entries; every reference points to one of them.

Free text travels exactly: a field that is one text is its section's narrative (a single
paragraph, line breaks as <br/>); line endings are normalised to "\\n", as XML does anyway.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.utils.timezone import localtime, now

from directory.models import Member, Organisation
from liaison import catalogue
from liaison.models import LiaisonSheet
from liaison.outputs import fhir_codes as codes
from liaison.outputs.document import (
    french_date,
    identity_line,
    member_line,
    organisation_line,
    patient_lines,
)

SheetStatus = LiaisonSheet.Status

XHTML = "http://www.w3.org/1999/xhtml"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --- the catalogue ---------------------------------------------------------------------
# Labels come from the catalogue (liaison.catalogue) the form and the PDF read:
# the same words in the form, on paper and in every narrative. Read at call time, so that
# they are in the language active for the export.


def _spec(kind: str, key: str) -> catalogue.Field:
    return next(f for section in catalogue.SECTIONS[kind] for f in section.fields if f.key == key)


def _label(kind: str, key: str) -> str:
    return str(_spec(kind, key).label)


def _columns(kind: str, key: str) -> list[tuple[str, str]]:
    """A list field's columns as (key, French label)."""
    return [
        (column.key, str(column.label))
        for column in _spec(kind, key).columns
        if column.kind != "check"  # a ticked box reads inside its line (catalogue.reading_line)
    ]


def _shown(kind: str, key: str, value: Any) -> str:
    """A field's value as the PDF prints it: choice labels, dd/mm/yyyy, Oui/Non."""
    spec = _spec(kind, key)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if spec.kind == "select":
        return str(dict(spec.choices).get(value, value))
    if spec.kind == "date":
        return french_date(value)
    return str(value)


# --- narrative -------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Text as it can travel in XML: "\\n" line endings, no control characters."""
    return CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))


def _escape(text: Any) -> str:
    return escape(clean_text(text)).replace("\n", "<br/>")


def narrative(inner: str) -> dict[str, str]:
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{inner}</div>'}


def paragraph(text: str) -> str:
    return f"<p>{_escape(text)}</p>"


def facts_table(rows: Iterable[tuple[str, Any]]) -> str:
    """Label / value rows, the filled ones only: an entry resource's narrative."""
    body = "".join(
        f"<tr><th>{_escape(label)}</th><td>{_escape(value)}</td></tr>"
        for label, value in rows
        if value not in (None, "")
    )
    return f"<table><tbody>{body}</tbody></table>" if body else ""


def _line_rows(columns: list[tuple[str, str]], line: dict[str, Any]) -> list[tuple[str, str]]:
    line = catalogue.reading_line(line)
    return [(label, _display(key, line.get(key))) for key, label in columns]


def html_table(columns: list[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> str:
    head = "".join(f"<th>{_escape(label)}</th>" for _key, label in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{_escape(_display(key, catalogue.reading_line(row).get(key)))}</td>"
            for key, _l in columns
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _display(key: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    if key == "change":
        return codes.CHANGE_LABELS.get(value, value)
    if key.endswith("date"):
        return french_date(value)
    return str(value)


# --- small datatypes -------------------------------------------------------------------


def coding(system: str, code: str, display: str = "") -> dict[str, str]:
    result = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


def concept(system: str, code: str, display: str = "", text: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text:
        result["text"] = text
    return result


def ref(url: str, display: str = "") -> dict[str, str]:
    result = {"reference": url}
    if display:
        result["display"] = display
    return result


def urn_identifier(code: uuid.UUID | str) -> dict[str, str]:
    return {"system": codes.URN, "value": f"urn:uuid:{code}"}


def iso(moment: datetime) -> str:
    return localtime(moment).isoformat(timespec="seconds")


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


# --- the builder -----------------------------------------------------------------------


class BundleBuilder:
    """Collects the entries of one document; Composition is put first when done."""

    def __init__(self, sheet: LiaisonSheet) -> None:
        self.sheet = sheet
        self.patient = sheet.patient or {}
        self.content = sheet.content or {}
        self.entries: list[dict[str, Any]] = []
        self.urls: set[str] = set()

    def url(self, name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(self.sheet.code, name)}"

    def add(self, url: str, resource: dict[str, Any], div: str) -> str:
        """Adds an entry with its narrative (`div`: XHTML, inside the div).

        dom-6: every resource carries a narrative a person can read when nothing else can
        render the resource, written with the labels the form and the PDF use.
        """
        if url not in self.urls:  # the same practitioner may be author and recipient
            self.urls.add(url)
            kind = resource.pop("resourceType")
            resource = {
                "resourceType": kind,
                "id": url.removeprefix("urn:uuid:"),
                "text": narrative(div or paragraph(kind)),
                **resource,
            }
            self.entries.append({"fullUrl": url, "resource": resource})
        return url

    # people and places

    def patient_resource(self) -> str:
        p = self.patient
        resource: dict[str, Any] = {"resourceType": "Patient"}
        extensions: list[dict[str, Any]] = [
            {
                "url": codes.IDENTITY_RELIABILITY,
                "extension": [
                    {
                        "url": "identityStatus",
                        "valueCoding": coding(
                            codes.IDENTITY_STATUS_SYSTEM, p.get("identity_status") or "PROV"
                        ),
                    }
                ],
            }
        ]
        if p.get("birth_place_insee"):
            extensions.append(
                {
                    "url": codes.BIRTH_PLACE,
                    "valueAddress": {
                        "extension": [
                            {
                                "url": codes.INSEE_CODE,
                                "valueCoding": coding(codes.INSEE_COMMUNE, p["birth_place_insee"]),
                            }
                        ]
                    },
                }
            )
        resource["extension"] = extensions
        if p.get("ins"):
            system = codes.INS_NIR_TEST if p["ins"] in codes.TEST_INS else codes.INS_NIR
            resource["identifier"] = [
                {
                    "use": "official",
                    "type": concept(codes.IDENTIFIER_TYPE, codes.INS_SYSTEMS[system]),
                    "system": system,
                    "value": p["ins"],
                }
            ]
        names = []
        if p.get("birth_family_name") or p.get("given_names"):
            official: dict[str, Any] = {"use": "official"}
            if p.get("birth_family_name"):
                official["family"] = p["birth_family_name"]
            if p.get("given_names"):
                # FR Core: the first given name in `given`, the whole list in the extension.
                official["given"] = [p["given_names"].split()[0]]
                official["extension"] = [
                    {"url": codes.BIRTH_LIST_GIVEN_NAME, "valueString": p["given_names"]}
                ]
            names.append(official)
        if p.get("used_family_name"):
            names.append({"use": "usual", "family": p["used_family_name"]})
        if names:
            resource["name"] = names
        if p.get("sex"):
            resource["gender"] = codes.GENDER[p["sex"]]
        if p.get("birth_date"):
            resource["birthDate"] = p["birth_date"]
        if p.get("phone"):
            resource["telecom"] = [{"system": "phone", "value": p["phone"]}]
        if p.get("address"):
            resource["address"] = [{"text": p["address"]}]
        contacts = [
            self._contact(key)
            for key in codes.CONTACT_ROLES
            if any((self.content.get(key) or {}).values())  # the web form posts empty fields
        ]
        if contacts:
            resource["contact"] = contacts
        first, *details = patient_lines(p)
        div = f"<p><b>{_escape(first)}</b></p>" + "".join(paragraph(line) for line in details)
        return self.add(self.url("Patient"), resource, div)

    def _contact(self, key: str) -> dict[str, Any]:
        person = self.content[key]
        system, code, display = codes.CONTACT_ROLES[key]
        relationship = [concept(system, code, display)]
        if person.get("relationship"):
            relationship.append({"text": person["relationship"]})
        contact: dict[str, Any] = {"relationship": relationship}
        if person.get("name"):
            contact["name"] = {"text": person["name"]}
        if person.get("phone"):
            contact["telecom"] = [{"system": "phone", "value": person["phone"]}]
        return contact

    def practitioner(self, member: Member) -> str:
        identifiers = [urn_identifier(member.code)]
        if member.rpps:
            identifiers.insert(0, {"system": codes.RPPS, "value": member.rpps})
        resource: dict[str, Any] = {
            "resourceType": "Practitioner",
            "identifier": identifiers,
            "name": [{"family": member.family_name, "given": [member.given_name]}],
            "qualification": [{"code": {"text": str(member.get_profession_display())}}],
        }
        if member.phone:
            resource["telecom"] = [{"system": "phone", "value": member.phone}]
        return self.add(f"urn:uuid:{member.code}", resource, paragraph(member_line(member)))

    def organization(self, organisation: Organisation) -> str:
        identifiers = [urn_identifier(organisation.code)]
        if organisation.finess:
            identifiers.insert(0, {"system": codes.FINESS, "value": organisation.finess})
        resource: dict[str, Any] = {
            "resourceType": "Organization",
            "identifier": identifiers,
            "type": [{"text": str(organisation.get_kind_display())}],
            "name": organisation.name,
        }
        telecom = []
        if organisation.phone:
            telecom.append({"system": "phone", "value": organisation.phone})
        if organisation.email:
            telecom.append({"system": "email", "value": organisation.email})
        if telecom:
            resource["telecom"] = telecom
        if organisation.address or organisation.commune:
            address = {
                key: value
                for key, value in (
                    ("line", [organisation.address] if organisation.address else None),
                    ("city", organisation.commune),
                    ("postalCode", organisation.postcode),
                )
                if value
            }
            resource["address"] = [address]
        if organisation.parent_id:
            resource["partOf"] = ref(
                self.organization(organisation.parent), organisation.parent.name
            )
        return self.add(
            f"urn:uuid:{organisation.code}", resource, paragraph(organisation_line(organisation))
        )

    def encounter(self, patient: str) -> str:
        sheet, content = self.sheet, self.content
        resource: dict[str, Any] = {
            "resourceType": "Encounter",
            "status": self._encounter_status(),
            "class": coding(codes.ACT_CODE, "IMP", "inpatient encounter"),
            "subject": ref(patient),
        }
        if sheet.is_referral:
            if content.get("urgency"):
                code, display = codes.URGENCY[content["urgency"]]
                resource["priority"] = concept(codes.ACT_PRIORITY, code, display)
            if content.get("expected_date"):
                resource["period"] = {"start": content["expected_date"]}
            if sheet.recipient_organisation_id:
                resource["serviceProvider"] = ref(self.organization(sheet.recipient_organisation))
        else:
            period = {
                key: content[name]
                for key, name in (("start", "admission_date"), ("end", "discharge_date"))
                if content.get(name)
            }
            if period:
                resource["period"] = period
            resource["serviceProvider"] = ref(self.organization(sheet.sender_organisation))
        hospitalization: dict[str, Any] = {}
        if content.get("entry_mode"):
            hospitalization["admitSource"] = concept(*codes.ENTRY_MODES[content["entry_mode"]])
        if content.get("exit_mode"):
            hospitalization["dischargeDisposition"] = concept(
                *codes.EXIT_MODES[content["exit_mode"]]
            )
        if hospitalization:
            resource["hospitalization"] = hospitalization
        keys = (
            ("urgency", "entry_mode", "expected_date")
            if sheet.is_referral
            else ("admission_date", "discharge_date", "entry_mode", "exit_mode")
        )
        rows = [
            (_label(sheet.kind, key), _shown(sheet.kind, key, content[key]))
            for key in keys
            if content.get(key)
        ]
        return self.add(self.url("Encounter"), resource, facts_table(rows))

    def _encounter_status(self) -> str:
        if not self.sheet.is_referral:
            return "finished"
        if self.sheet.status in (SheetStatus.DECLINED, SheetStatus.CANCELLED, SheetStatus.NO_SHOW):
            return "cancelled"
        return "finished" if self.sheet.status == SheetStatus.CLOSED else "planned"

    # clinical entries

    def medication(
        self, name: str, line: dict[str, Any], patient: str, *, stopped: bool = False
    ) -> str:
        resource: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "status": "stopped" if stopped else "active",
            "medicationCodeableConcept": {"text": line["name"]},
            "subject": ref(patient),
        }
        extensions = []
        if line.get("change"):
            extensions.append({"url": codes.MEDICATION_CHANGE, "valueCode": line["change"]})
        duration = catalogue.reading_line(line).get("duration")
        if duration:  # "au long cours" for a long-term treatment: read back as such
            extensions.append({"url": codes.MEDICATION_DURATION, "valueString": duration})
        if extensions:
            resource = {"resourceType": "MedicationStatement", "extension": extensions, **resource}
        if stopped and line.get("reason"):
            resource["statusReason"] = [{"text": line["reason"]}]
        period = {
            key: line[name]
            for key, name in (("start", "start_date"), ("end", "end_date"))
            if line.get(name)
        }
        if period:
            resource["effectivePeriod"] = period
        dosage: dict[str, Any] = {}
        if line.get("dose"):
            dosage["text"] = line["dose"]  # the dose as prescribed ("1/2 cp", "2,5 mg")
        if line.get("frequency"):
            dosage["timing"] = {"code": {"text": line["frequency"]}}
        if line.get("route"):
            dosage["route"] = {"text": line["route"]}
        if dosage:
            resource["dosage"] = [dosage]
        if line.get("comment"):
            resource["note"] = [{"text": line["comment"]}]
        key = name.split("/", 1)[0]  # "discharge_medications/2": the list it is a line of
        columns = _columns(self.sheet.kind, key)
        return self.add(self.url(name), resource, facts_table(_line_rows(columns, line)))

    def allergy(self, name: str, line: dict[str, Any], patient: str) -> str:
        written = (line.get("status") or "").strip()
        status = codes.allergy_clinical_status(written) if written else None
        # The binding is required and FHIR's ait-1 wants a clinicalStatus: an allergy listed
        # in a letter is current unless its words say otherwise (as when none are written).
        clinical: dict[str, Any] = {"coding": [coding(codes.ALLERGY_CLINICAL, status or "active")]}
        if status:
            clinical["text"] = line["status"]
        resource: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": clinical,
            "code": {"text": line["substance"]},
            "patient": ref(patient),
        }
        if line.get("reaction") or line.get("severity"):
            manifestation = (
                {"text": line["reaction"]}
                if line.get("reaction")
                else {"extension": [{"url": codes.DATA_ABSENT_REASON, "valueCode": "unknown"}]}
            )
            reaction: dict[str, Any] = {"manifestation": [manifestation]}
            if line.get("severity"):
                severity = codes.ALLERGY_SEVERITY.get(line["severity"].strip().lower())
                if severity:
                    reaction["severity"] = severity
                reaction["_severity"] = {
                    "extension": [{"url": codes.ORIGINAL_TEXT, "valueString": line["severity"]}]
                }
            resource["reaction"] = [reaction]
        if written and not status:
            # Words no code means ("suspectée"): said as written, never as an uncoded status.
            resource["note"] = [{"text": f"{codes.ALLERGY_STATUS_NOTE}{line['status']}"}]
        columns = _columns(self.sheet.kind, "allergies")
        return self.add(self.url(name), resource, facts_table(_line_rows(columns, line)))

    def observation(
        self,
        name: str,
        code: dict[str, Any],
        value: Any,
        patient: str,
        *,
        label: str,
        category: str = "",
    ) -> str:
        resource: dict[str, Any] = {"resourceType": "Observation", "status": "final"}
        if category:
            resource["category"] = [concept(codes.OBSERVATION_CATEGORY, category)]
        resource |= {"code": code, "subject": ref(patient)}
        if isinstance(value, bool):
            resource["valueBoolean"] = value
        elif isinstance(value, dict):
            resource["valueCodeableConcept"] = value
        else:
            resource["valueString"] = value
        if isinstance(value, bool):
            shown = "Oui" if value else "Non"
        elif isinstance(value, dict):
            shown = value.get("text") or value["coding"][0].get("display", "")
        else:
            shown = str(value)
        return self.add(self.url(name), resource, facts_table([(label, shown)]))

    def service_request(
        self,
        name: str,
        patient: str,
        *,
        code: str,
        when: dict[str, Any] | None = None,
        performer: str = "",
        note: str = "",
        rows: list[tuple[str, str]],
    ) -> str:
        resource: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "plan",
            "code": {"text": code},
            "subject": ref(patient),
        }
        if when:
            resource |= when
        if performer:
            resource["performerType"] = {"text": performer}
        if note:
            resource["note"] = [{"text": note}]
        return self.add(self.url(name), resource, facts_table(rows))

    def device_use(self, index: int, line: dict[str, Any], patient: str) -> str:
        device: dict[str, Any] = {
            "resourceType": "Device",
            "deviceName": [{"name": line["description"], "type": "user-friendly-name"}],
            "patient": ref(patient),
        }
        if line.get("identifier"):
            device["udiCarrier"] = [{"carrierHRF": line["identifier"]}]
        columns = _columns("discharge", "implanted_devices")
        device_url = self.add(
            self.url(f"Device/{index}"),
            device,
            facts_table(_line_rows([c for c in columns if c[0] != "date"], line)),
        )
        use: dict[str, Any] = {
            "resourceType": "DeviceUseStatement",
            "status": "active",
            "subject": ref(patient),
            "device": ref(device_url),
        }
        if line.get("date"):
            use["timingDateTime"] = line["date"]
        return self.add(
            self.url(f"DeviceUseStatement/{index}"), use, facts_table(_line_rows(columns, line))
        )


# --- sections --------------------------------------------------------------------------


def _section(
    system: str,
    code: str,
    title: str,
    div: str,
    entries: list[str] | None = None,
    *,
    empty_reason: bool = False,
) -> dict[str, Any]:
    section: dict[str, Any] = {
        "title": title,
        "code": concept(system, code),  # the French title is `title`; LOINC's display is English
        "text": narrative(div),
    }
    if entries:
        section["entry"] = [ref(url) for url in entries]
    if empty_reason:
        section["emptyReason"] = concept(codes.LIST_EMPTY_REASON, "nilknown", "Nil Known")
    return section


def _medications(
    b: BundleBuilder,
    key: str,
    patient: str,
    columns: list[tuple[str, str]],
    none_key: str,
    none_text: str,
) -> tuple[str, list[str], bool] | None:
    lines = b.content.get(key) or []
    if lines:
        urls = [b.medication(f"{key}/{i}", line, patient) for i, line in enumerate(lines)]
        return html_table(columns, lines), urls, False
    if b.content.get(none_key):
        return paragraph(none_text), [], True
    return None


def _allergies(b: BundleBuilder, patient: str) -> tuple[str, list[str], bool] | None:
    lines = b.content.get("allergies") or []
    if lines:
        urls = [b.allergy(f"allergies/{i}", line, patient) for i, line in enumerate(lines)]
        return html_table(_columns(b.sheet.kind, "allergies"), lines), urls, False
    if b.content.get("allergies_none_known"):
        return paragraph("Aucune allergie connue"), [], True
    return None


def _social(b: BundleBuilder, patient: str) -> tuple[str, list[str], bool] | None:
    context = b.content.get("social_context") or {}
    rows, urls = [], []
    for key, (label, _kind) in codes.SOCIAL_OBSERVATIONS.items():
        value = context.get(key)
        if value is None or value == "":
            continue
        code = concept(codes.LOCAL_FIELDS, f"social_context.{key}", label, label)
        shown_label = _label("referral", f"social_context.{key}")
        urls.append(
            b.observation(
                f"social_context/{key}",
                code,
                value,
                patient,
                label=shown_label,
                category="social-history",
            )
        )
        shown = _shown("referral", f"social_context.{key}", value)
        rows.append(f"<li>{_escape(shown_label)} : {_escape(shown)}</li>")
    return (f"<ul>{''.join(rows)}</ul>", urls, False) if urls else None


def _stay(b: BundleBuilder, patient: str) -> tuple[str, list[str], bool] | None:
    rows, urls = [], []
    for key, (code, label, _kind) in codes.STAY_OBSERVATIONS.items():
        value = b.content.get(key)
        if value is None or value == "":
            continue
        shown_label = _label("discharge", key)  # the form's words; the code keeps CI-SIS's
        urls.append(
            b.observation(
                f"stay/{key}",
                concept(codes.TA_ASIP, code, label),
                value,
                patient,
                label=shown_label,
            )
        )
        shown = _shown("discharge", key, value)
        rows.append(f"<p><b>{_escape(shown_label)}</b> : {_escape(shown)}</p>")
    return ("".join(rows), urls, False) if urls else None


def _document_status(b: BundleBuilder, patient: str) -> tuple[str, list[str], bool] | None:
    status = b.content.get("document_status")
    if not status:
        return None
    system, code, display = codes.DOCUMENT_STATUS[status]
    value = concept(system, code, display)
    url = b.observation(
        "document_status",
        concept(codes.TA_ASIP, "GEN-065", "Statut du document"),
        value,
        patient,
        label="Statut du document",
    )
    return paragraph(display), [url], False


def _devices(b: BundleBuilder, patient: str) -> tuple[str, list[str], bool] | None:
    lines = b.content.get("implanted_devices") or []
    if not lines:
        return None
    urls = [b.device_use(i, line, patient) for i, line in enumerate(lines)]
    return html_table(_columns("discharge", "implanted_devices"), lines), urls, False


def _follow_up(b: BundleBuilder, patient: str) -> dict[str, Any] | None:
    follow = b.content.get("follow_up") or {}
    subsections = []
    for key, system, code, title in codes.FOLLOW_UP_SECTIONS:
        value = follow.get(key)
        if not _filled(value):
            continue
        urls: list[str] = []
        if key == "acts":
            urls = [
                b.service_request(
                    f"follow_up/acts/{i}",
                    patient,
                    code=act,
                    rows=[(_label("discharge", "follow_up.acts"), act)],
                )
                for i, act in enumerate(value)
            ]
            div = "<ul>" + "".join(f"<li>{_escape(act)}</li>" for act in value) + "</ul>"
        elif key == "exam_requests":
            urls = [
                b.service_request(
                    f"follow_up/exam_requests/{i}",
                    patient,
                    code=line["what"],
                    when={"occurrencePeriod": {"end": line["by_date"]}}
                    if line.get("by_date")
                    else None,
                    rows=_line_rows(_columns("discharge", "follow_up.exam_requests"), line),
                )
                for i, line in enumerate(value)
            ]
            div = html_table(_columns("discharge", "follow_up.exam_requests"), value)
        elif key == "consultations":
            urls = [
                b.service_request(
                    f"follow_up/consultations/{i}",
                    patient,
                    code="Consultation",
                    performer=line["with"],
                    note=line.get("note") or "",
                    when={"occurrenceDateTime": line["date"]} if line.get("date") else None,
                    rows=_line_rows(_columns("discharge", "follow_up.consultations"), line),
                )
                for i, line in enumerate(value)
            ]
            div = html_table(_columns("discharge", "follow_up.consultations"), value)
        else:
            div = paragraph(value)
        subsections.append(_section(system, code, title, div, urls))
    if not subsections:
        return None
    _key, system, code, title = next(s for s in codes.SECTIONS["discharge"] if s[0] == "follow_up")
    section = _section(system, code, title, paragraph(title))
    section["section"] = subsections
    return section


def build_sections(b: BundleBuilder, patient: str) -> list[dict[str, Any]]:
    """One section per filled section of the sheet, in Part A's order; none empty."""
    builders: dict[str, Any] = {
        "medications": lambda: _medications(
            b,
            "medications",
            patient,
            _columns("referral", "medications"),
            "medications_none",
            "Aucun traitement en cours",
        ),
        "discharge_medications": lambda: _medications(
            b,
            "discharge_medications",
            patient,
            _columns("discharge", "discharge_medications"),
            "discharge_medications_none",
            "Aucun traitement de sortie",
        ),
        "stopped_medications": lambda: _stopped(b, patient),
        "allergies": lambda: _allergies(b, patient),
        "social_context": lambda: _social(b, patient),
        "stay": lambda: _stay(b, patient),
        "document_status": lambda: _document_status(b, patient),
        "implanted_devices": lambda: _devices(b, patient),
    }
    sections = []
    for key, system, code, title in codes.SECTIONS[b.sheet.kind]:
        if key == "follow_up":
            follow_up = _follow_up(b, patient)
            if follow_up:
                sections.append(follow_up)
            continue
        if key in codes.TEXT_SECTIONS:
            text = b.content.get(key)
            built = (paragraph(text), [], False) if _filled(text) else None
        else:
            built = builders[key]()
        if built is not None:
            div, urls, empty = built
            sections.append(_section(system, code, title, div, urls, empty_reason=empty))
    return sections


def _stopped(b: BundleBuilder, patient: str) -> tuple[str, list[str], bool] | None:
    lines = b.content.get("stopped_medications") or []
    if not lines:
        return None
    urls = [
        b.medication(f"stopped_medications/{i}", line, patient, stopped=True)
        for i, line in enumerate(lines)
    ]
    return html_table(_columns("discharge", "stopped_medications"), lines), urls, False


# --- the document ----------------------------------------------------------------------


def _composition_status(sheet: LiaisonSheet) -> str:
    if sheet.status == LiaisonSheet.Status.DRAFT:
        return "preliminary"
    if not sheet.is_referral and sheet.document_status == "in_progress":
        return "preliminary"
    return "final"


def _summary(b: BundleBuilder) -> str:
    sheet = b.sheet
    lines = [
        f"<p><b>{_escape(codes.DOCUMENT_TYPES[sheet.kind][2])}</b></p>",
        paragraph(identity_line(b.patient)),
    ]
    content = b.content
    facts = []
    for key in ("urgency", "entry_mode", "expected_date", "admission_date", "discharge_date",
                "exit_mode"):  # fmt: skip
        spec = catalogue.field_of(sheet.kind, key)
        if spec is not None and content.get(key):
            facts.append((str(spec.label), _shown(sheet.kind, key, content[key])))
    for key in codes.CONTACT_ROLES:
        person = content.get(key) or {}
        if any(person.values()):
            label = codes.CONTACT_ROLES[key][2].capitalize()
            facts.append((label, " — ".join(str(v) for v in person.values() if v)))
    lines += [f"<p>{_escape(label)} : {_escape(value)}</p>" for label, value in facts]
    return "".join(lines)


def bundle_for(sheet: LiaisonSheet, *, timestamp: datetime | None = None) -> dict[str, Any]:
    """The FHIR R4 document of a sheet, as JSON-ready dicts.

    Expects the sheet as `access_sheet` returns it (author, organisations and participants
    loaded): the caller has checked access and audited the export.
    """
    b = BundleBuilder(sheet)
    patient = b.patient_resource()
    author = b.practitioner(sheet.author)
    custodian = b.organization(sheet.sender_organisation)
    encounter = b.encounter(patient)
    participants = [p.member for p in sheet.participants.all()]
    recipient_urls = [b.practitioner(member) for member in participants]
    sections = build_sections(b, patient)

    code, display, title = codes.DOCUMENT_TYPES[sheet.kind]
    extensions: list[dict[str, Any]] = [
        {"url": codes.VERSION_NUMBER, "valueString": str(sheet.document_version)},
        *(
            {"url": codes.INFORMATION_RECIPIENT, "valueReference": ref(url)}
            for url in recipient_urls
        ),
    ]
    if sheet.referral_id is not None:
        extensions.append(
            {"url": codes.IN_RESPONSE_TO, "valueIdentifier": urn_identifier(sheet.referral.code)}
        )
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": str(sheet.code),
        "extension": extensions,
        "identifier": urn_identifier(sheet.set_id),  # constant across versions (CDA setId)
        "status": _composition_status(sheet),
        "type": concept(codes.LOINC, code, display),
        "subject": ref(patient),
        "encounter": ref(encounter),
        "date": iso(sheet.sent_at or sheet.updated_at),
        "author": [ref(author, sheet.author.display_name)],
        "title": title,
        "confidentiality": "N",
        "custodian": ref(custodian, sheet.sender_organisation.name),
        "text": narrative(_summary(b)),
    }
    if sheet.sent_at is not None:
        composition["attester"] = [
            {"mode": "legal", "time": iso(sheet.sent_at), "party": ref(author)}
        ]
    if sheet.previous_version_id is not None:
        composition["relatesTo"] = [
            {"code": "replaces", "targetIdentifier": urn_identifier(sheet.previous_version.code)}
        ]
    if sections:
        composition["section"] = sections
    moment = timestamp or now()
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(sheet.code, f"Bundle/{sheet.version}")),
        "meta": {"lastUpdated": iso(sheet.updated_at)},
        "identifier": urn_identifier(sheet.code),
        "type": "document",
        "timestamp": iso(moment),
        "entry": [{"fullUrl": f"urn:uuid:{sheet.code}", "resource": composition}, *b.entries],
    }
