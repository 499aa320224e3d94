"""Reading a FHIR R4 document Bundle back into DOMAIN.md Part A's dictionary.

The reverse of liaison/outputs/fhir.py, and tolerant of the same document produced by other
software (a hospital's discharge letter): sections are recognised by their LOINC code (or
our local code), entries by their resource type. What cannot be understood is never dropped
silently: every such element is reported with its JSON path (`entry[3].resource.dosage[0]
.doseAndRate`) and nothing is created, so the sender knows exactly what would be lost.

Rules (docs/outputs.md):
- the Bundle must validate against the R4B models (`fhir.resources`), be of type `document`
  with a Composition first whose type is LOINC 18761-7 or 11490-0;
- every reference must resolve inside the Bundle (fullUrl, or ResourceType/id);
- every entry must be used by something we read (a section, the subject, the encounter…);
- in clinical resources, elements we have no key for are reported; plain extensions we do
  not know are ignored (FHIR allows it), modifier extensions are reported (FHIR forbids it);
- identifiers of unknown systems (a hospital's IPP) are ignored: they identify, they do not
  carry clinical content. Directory resources (Practitioner, Organization) only identify
  people and places; their other elements are not imported (the directory is the reference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from django.conf import settings
from pydantic import ValidationError

from config.parsers import exceeds_depth, too_deep_message
from liaison.outputs import fhir_codes as codes
from security.exceptions import FieldErrors

UUID_URN = re.compile(r"^urn:uuid:([0-9a-fA-F-]{36})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
BLOCKS = {
    "p",
    "div",
    "li",
    "tr",
    "table",
    "ul",
    "ol",
    "pre",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}

COMMON = {"resourceType", "id", "meta", "text", "language", "extension", "identifier"}
ALLOWED = {
    "Composition": COMMON
    | {
        "status",
        "type",
        "category",
        "subject",
        "encounter",
        "date",
        "author",
        "title",
        "confidentiality",
        "attester",
        "custodian",
        "relatesTo",
        "section",
    },
    "Patient": COMMON | {"active", "name", "gender", "birthDate", "telecom", "address", "contact"},
    "Encounter": COMMON
    | {
        "status",
        "class",
        "subject",
        "period",
        "serviceProvider",
        "priority",
        "hospitalization",
        "type",
    },
    "MedicationStatement": COMMON
    | {
        "status",
        "statusReason",
        "medicationCodeableConcept",
        "medicationReference",
        "subject",
        "effectivePeriod",
        "effectiveDateTime",
        "dosage",
        "note",
        "dateAsserted",
        "informationSource",
        "category",
        "context",
    },
    "Medication": COMMON | {"code", "status", "form"},
    "AllergyIntolerance": COMMON
    | {
        "clinicalStatus",
        "verificationStatus",
        "type",
        "category",
        "code",
        "patient",
        "reaction",
        "recordedDate",
        "recorder",
        "asserter",
        "note",  # only the status in words no code means (read in section_allergies)
    },
    "Observation": COMMON
    | {
        "status",
        "category",
        "code",
        "subject",
        "valueBoolean",
        "valueString",
        "valueCodeableConcept",
        "effectiveDateTime",
        "issued",
        "performer",
    },
    "ServiceRequest": COMMON
    | {
        "status",
        "intent",
        "code",
        "subject",
        "occurrenceDateTime",
        "occurrencePeriod",
        "performerType",
        "note",
        "authoredOn",
        "requester",
    },
    "Device": COMMON | {"deviceName", "udiCarrier", "patient", "status", "type"},
    "DeviceUseStatement": COMMON
    | {"status", "subject", "device", "timingDateTime", "timingPeriod", "recordedOn", "source"},
}
DOSAGE_ALLOWED = {"text", "timing", "route", "sequence"}
REACTION_ALLOWED = {"manifestation", "severity", "_severity", "extension"}

NOT_UNDERSTOOD = "Élément non repris : le service n'a pas de champ pour lui."
UNUSED = "Ressource non reprise : aucune section, ni le patient, ni le séjour ne la citent."
UNRESOLVED = "Référence introuvable dans le Bundle."


@dataclass
class ImportedSheet:
    """What the Bundle says, in Part A's keys, and where each key came from."""

    kind: str
    patient: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=dict)
    recipient_organisation: str = ""  # our organisation id, from Encounter.serviceProvider
    sender_organisation: str = ""  # our organisation id, from Composition.custodian
    referral: str = ""  # the referral a discharge letter answers (our sheet id)
    participants: list[tuple[str, str, str]] = field(default_factory=list)  # (path, our id, RPPS)
    origins: dict[str, str] = field(default_factory=dict)  # Part A key -> JSON path

    def origin(self, key: str) -> str:
        """The JSON path a dictionary key (or a line of it) was read from."""
        while key:
            if key in self.origins:
                return self.origins[key]
            key = re.sub(r"(\[\d+\]|\.[^.\[]+)$", "", key) if re.search(r"[.\[]", key) else ""
        return "entry[0].resource"


def _known_type(lookup: Any, name: Any) -> bool:
    try:
        lookup(str(name))
    except (AttributeError, KeyError, LookupError, ValueError):
        return False
    return True


def without_nulls(value: Any) -> Any:
    """FHIR JSON has no nulls; the models tolerate some. Dropping them keeps the reader simple."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value if item is not None]
    return value


def _pydantic_path(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not str(part)[:1].isupper():  # skip the model names pydantic inserts
            path += f".{part}" if path else str(part)
    return path or "(bundle)"


class Reader:
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle
        self.errors: dict[str, list[str]] = {}
        self.entries: list[dict[str, Any]] = [
            e.get("resource") or {} for e in bundle.get("entry") or []
        ]
        self.by_reference: dict[str, int] = {}
        for index, entry in enumerate(bundle.get("entry") or []):
            resource = entry.get("resource") or {}
            if entry.get("fullUrl"):
                self.by_reference[entry["fullUrl"]] = index
            if resource.get("id"):
                self.by_reference[f"{resource.get('resourceType')}/{resource['id']}"] = index
        self.used: set[int] = set()

    def fail(self, path: str, message: str) -> None:
        messages = self.errors.setdefault(path, [])
        if message not in messages:
            messages.append(message)

    def resolve(self, reference: Any, path: str, *types: str) -> tuple[str, dict[str, Any]] | None:
        """The resource a Reference points to, as (its JSON path, the resource)."""
        target = reference.get("reference") if isinstance(reference, dict) else None
        index = self.by_reference.get(target or "")
        if index is None:
            self.fail(f"{path}.reference", UNRESOLVED)
            return None
        resource = self.entries[index]
        if types and resource.get("resourceType") not in types:
            self.fail(
                f"{path}.reference",
                f"Référence vers {resource.get('resourceType')} : attendu {' ou '.join(types)}.",
            )
            return None
        self.used.add(index)
        return f"entry[{index}].resource", resource

    def check_references(self, value: Any, path: str) -> None:
        """Every Reference anywhere in the Bundle must resolve inside it."""
        if isinstance(value, dict):
            target = value.get("reference")
            if (
                isinstance(target, str)
                and not target.startswith("#")
                and target not in self.by_reference
            ):
                self.fail(f"{path}.reference", UNRESOLVED)
            for key, item in value.items():
                self.check_references(item, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.check_references(item, f"{path}[{index}]")

    def only(self, resource: dict[str, Any], path: str, allowed: set[str]) -> None:
        for key in resource:
            if key not in allowed:
                self.fail(f"{path}.{key}", NOT_UNDERSTOOD)
        for index in range(len(resource.get("modifierExtension") or [])):
            self.fail(
                f"{path}.modifierExtension[{index}]",
                "Extension modificatrice inconnue : document refusé.",
            )

    def check_resource(self, resource: dict[str, Any], path: str) -> None:
        self.only(resource, path, ALLOWED.get(resource.get("resourceType", ""), COMMON))


def _extension(resource: dict[str, Any], url: str) -> tuple[int, dict[str, Any]] | None:
    for index, extension in enumerate(resource.get("extension") or []):
        if extension.get("url") == url:
            return index, extension
    return None


def _extensions(resource: dict[str, Any], url: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, e) for i, e in enumerate(resource.get("extension") or []) if e.get("url") == url]


def _text(concept: Any) -> str:
    """A CodeableConcept's text, or its first coding's display."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for item in concept.get("coding") or []:
        if item.get("display"):
            return str(item["display"])
    return ""


def _codes(concept: Any) -> set[tuple[str, str]]:
    if not isinstance(concept, dict):
        return set()
    return {(c.get("system", ""), c.get("code", "")) for c in concept.get("coding") or []}


def _date(value: Any) -> str:
    """The date part of a FHIR date or dateTime; "" for a partial date (no day)."""
    value = str(value or "")
    return value[:10] if DATE.match(value) else ""


def narrative_text(div: str) -> str:
    """The text of an XHTML narrative: <br/> and block ends become line breaks."""
    root = ElementTree.fromstring(div)  # noqa: S314 (a string we parse, never fetch: no entities)
    parts: list[str] = []

    def newline() -> None:
        if parts and not parts[-1].endswith("\n"):
            parts.append("\n")

    def walk(element: ElementTree.Element) -> None:
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "br":
            parts.append("\n")
        elif tag in BLOCKS:
            newline()
        elif tag in ("td", "th") and parts and not parts[-1].endswith(("\n", " ")):
            parts.append(" ")
        if element.text:
            parts.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag in BLOCKS:
            newline()

    walk(root)
    return "".join(parts).strip()


class DocumentReader(Reader):
    def __init__(self, bundle: dict[str, Any]) -> None:
        super().__init__(bundle)
        self.sheet = ImportedSheet(kind="")

    # --- Part A keys ---------------------------------------------------------------------

    def put(self, key: str, value: Any, path: str) -> None:
        """Set a Part A key (dots for nested objects) and remember where it came from."""
        if value in (None, "", [], {}):
            return
        target = self.sheet.content
        *parents, last = key.split(".")
        if parents and parents[0] == "patient":
            target, parents = self.sheet.patient, parents[1:]
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
        self.sheet.origins[key] = path

    # --- the document --------------------------------------------------------------------

    def read(self) -> ImportedSheet:
        self.check_references(self.bundle, "")
        if self.bundle.get("type") != "document":
            self.fail("type", "Le Bundle doit être de type « document ».")
        composition = self.entries[0] if self.entries else {}
        if composition.get("resourceType") != "Composition":
            self.fail("entry[0].resource", "La première entrée d'un document est sa Composition.")
            return self.sheet
        self.used.add(0)
        path = "entry[0].resource"
        self.check_resource(composition, path)
        kinds = {code: kind for kind, (code, _d, _t) in codes.DOCUMENT_TYPES.items()}
        found = [
            kinds[c] for s, c in _codes(composition.get("type")) if s == codes.LOINC and c in kinds
        ]
        if not found:
            self.fail(
                f"{path}.type",
                "Type de document inconnu : attendu LOINC 18761-7 (entrée) ou 11490-0 (sortie).",
            )
            return self.sheet
        self.sheet.kind = found[0]
        subject = self.resolve(composition.get("subject"), f"{path}.subject", "Patient")
        if subject:
            self.read_patient(*subject)
        if composition.get("encounter"):
            encounter = self.resolve(composition["encounter"], f"{path}.encounter", "Encounter")
            if encounter:
                self.read_encounter(*encounter)
        self.read_people(composition, path)
        self.read_sections(composition.get("section") or [], f"{path}.section")
        if self.sheet.kind == "discharge" and "document_status" not in self.sheet.content:
            status = "in_progress" if composition.get("status") == "preliminary" else "final"
            self.put("document_status", status, f"{path}.status")
        for index in range(len(self.entries)):
            if index not in self.used:
                self.fail(f"entry[{index}]", UNUSED)
        return self.sheet

    def read_people(self, composition: dict[str, Any], path: str) -> None:
        """Authors and attesters (identified, not imported: the importer becomes the author),
        the custodian, the recipients, and the referral a letter answers."""
        for index, author in enumerate(composition.get("author") or []):
            self.resolve(author, f"{path}.author[{index}]")
        for index, attester in enumerate(composition.get("attester") or []):
            if attester.get("party"):
                self.resolve(attester["party"], f"{path}.attester[{index}].party")
        if composition.get("custodian"):
            custodian = self.resolve(composition["custodian"], f"{path}.custodian", "Organization")
            if custodian:
                self.sheet.sender_organisation = self.our_id(custodian[1])
                self.organisation_chain(custodian[1])
                self.sheet.origins["sender_organisation"] = f"{path}.custodian"
        for index, extension in _extensions(composition, codes.INFORMATION_RECIPIENT):
            where = f"{path}.extension[{index}].valueReference"
            kinds = ("Practitioner", "PractitionerRole")
            person = self.resolve(extension.get("valueReference"), where, *kinds)
            if person:
                identifiers = person[1].get("identifier") or []
                rpps = next(
                    (i.get("value", "") for i in identifiers if i.get("system") == codes.RPPS), ""
                )
                self.sheet.participants.append((where, self.our_id(person[1]), rpps))
        answered = _extension(composition, codes.IN_RESPONSE_TO)
        if answered:
            value = (answered[1].get("valueIdentifier") or {}).get("value", "")
            match = UUID_URN.match(str(value))
            if match and self.sheet.kind == "discharge":
                self.sheet.referral = match.group(1)
                self.sheet.origins["referral"] = f"{path}.extension[{answered[0]}]"
            else:
                self.fail(f"{path}.extension[{answered[0]}]", "Fiche d'entrée non reconnue.")

    def our_id(self, resource: dict[str, Any]) -> str:
        for identifier in resource.get("identifier") or []:
            match = UUID_URN.match(str(identifier.get("value", "")))
            if identifier.get("system") == codes.URN and match:
                return match.group(1)
        return ""

    def organisation_chain(self, organisation: dict[str, Any]) -> None:
        """Mark the establishment a service belongs to (`partOf`) as used."""
        seen = 0
        while organisation.get("partOf") and seen < 5:
            index = self.by_reference.get(organisation["partOf"].get("reference", ""))
            if index is None:
                return
            self.used.add(index)
            organisation = self.entries[index]
            seen += 1

    # --- patient and stay ----------------------------------------------------------------

    def read_patient(self, path: str, patient: dict[str, Any]) -> None:
        self.check_resource(patient, path)
        for index, identifier in enumerate(patient.get("identifier") or []):
            if identifier.get("system") in codes.INS_SYSTEMS:
                where = f"{path}.identifier[{index}].value"
                self.put("patient.ins", identifier.get("value", ""), where)
        self.read_patient_extensions(path, patient)
        self.read_names(path, patient.get("name") or [])
        if patient.get("gender"):
            sex = {value: key for key, value in codes.GENDER.items()}.get(patient["gender"])
            if sex is None:
                message = "Sexe « other » : le dictionnaire ne connaît que F, M et U."
                self.fail(f"{path}.gender", message)
            self.put("patient.sex", sex, f"{path}.gender")
        if patient.get("birthDate"):
            birth_date = _date(patient["birthDate"])
            if not birth_date:
                self.fail(f"{path}.birthDate", "Date de naissance incomplète.")
            self.put("patient.birth_date", birth_date, f"{path}.birthDate")
        telecom = patient.get("telecom") or []
        phones = [(i, t) for i, t in enumerate(telecom) if t.get("system") == "phone"]
        if phones:
            index, phone = phones[0]
            self.put("patient.phone", phone.get("value", ""), f"{path}.telecom[{index}]")
        for index, address in enumerate(patient.get("address") or []):
            if index > 0:
                self.fail(f"{path}.address[{index}]", NOT_UNDERSTOOD)
                continue
            town = " ".join(filter(None, [address.get("postalCode"), address.get("city")]))
            text = address.get("text") or ", ".join(
                filter(None, [*(address.get("line") or []), town])
            )
            self.put("patient.address", text, f"{path}.address[{index}]")
        for index, contact in enumerate(patient.get("contact") or []):
            self.read_contact(contact, f"{path}.contact[{index}]")

    def read_patient_extensions(self, path: str, patient: dict[str, Any]) -> None:
        reliability = _extension(patient, codes.IDENTITY_RELIABILITY)
        if reliability:
            for sub in reliability[1].get("extension") or []:
                if sub.get("url") == "identityStatus":
                    status = (sub.get("valueCoding") or {}).get("code", "")
                    where = f"{path}.extension[{reliability[0]}]"
                    self.put("patient.identity_status", status, where)
        birth_place = _extension(patient, codes.BIRTH_PLACE)
        if birth_place:
            where = f"{path}.extension[{birth_place[0]}]"
            insee = _extension(birth_place[1].get("valueAddress") or {}, codes.INSEE_CODE)
            if insee:
                self.put(
                    "patient.birth_place_insee",
                    (insee[1].get("valueCoding") or {}).get("code", ""),
                    where,
                )
            else:
                self.fail(where, "Lieu de naissance sans code INSEE.")

    def read_names(self, path: str, names: list[dict[str, Any]]) -> None:
        official = next((n for n in names if n.get("use") == "official"), None)
        official = official or next((n for n in names if not n.get("use")), None)
        for index, name in enumerate(names):
            where = f"{path}.name[{index}]"
            if name is official:
                self.put("patient.birth_family_name", name.get("family", ""), f"{where}.family")
                listed = _extension(name, codes.BIRTH_LIST_GIVEN_NAME)
                given = (
                    listed[1].get("valueString", "")
                    if listed
                    else " ".join(name.get("given") or [])
                )
                self.put("patient.given_names", given, where)
            elif name.get("use") == "usual":
                self.put("patient.used_family_name", name.get("family", ""), f"{where}.family")
            elif name.get("use") not in ("old", "anonymous", "temp"):
                self.fail(where, NOT_UNDERSTOOD)

    def read_contact(self, contact: dict[str, Any], path: str) -> None:
        roles = {(system, code): key for key, (system, code, _d) in codes.CONTACT_ROLES.items()}
        key, relationship = "", ""
        for concept in contact.get("relationship") or []:
            matched = [roles[c] for c in _codes(concept) if c in roles]
            if matched:
                key = matched[0]
            elif concept.get("text") and not concept.get("coding"):
                relationship = concept["text"]
        if not key:
            self.fail(path, "Contact ni personne de confiance ni personne à prévenir.")
            return
        name = contact.get("name") or {}
        text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family", "")])
        telecom = contact.get("telecom") or []
        phone = next((t.get("value", "") for t in telecom if t.get("system") == "phone"), "")
        self.put(f"{key}.name", text.strip(), path)
        self.put(f"{key}.relationship", relationship, path)
        self.put(f"{key}.phone", phone, path)

    def read_encounter(self, path: str, encounter: dict[str, Any]) -> None:
        self.check_resource(encounter, path)
        if self.sheet.kind == "referral":
            self.read_planned_stay(path, encounter)
        else:
            period = encounter.get("period") or {}
            self.put("admission_date", _date(period.get("start")), f"{path}.period.start")
            self.put("discharge_date", _date(period.get("end")), f"{path}.period.end")
            if encounter.get("serviceProvider"):
                where = f"{path}.serviceProvider"
                provider = self.resolve(encounter["serviceProvider"], where, "Organization")
                if provider:
                    self.organisation_chain(provider[1])
            if encounter.get("priority"):
                self.fail(f"{path}.priority", NOT_UNDERSTOOD)
        self.read_modes(path, encounter.get("hospitalization") or {})

    def read_planned_stay(self, path: str, encounter: dict[str, Any]) -> None:
        """A referral's Encounter: urgency, wished date, the service it is sent to."""
        priorities = {code: key for key, (code, _d) in codes.URGENCY.items()}
        if encounter.get("priority"):
            codings = _codes(encounter["priority"])
            urgency = [
                priorities[c] for s, c in codings if s == codes.ACT_PRIORITY and c in priorities
            ]
            if not urgency:
                message = "Urgence non reconnue (v3-ActPriority R, UR ou EM)."
                self.fail(f"{path}.priority", message)
            self.put("urgency", urgency[0] if urgency else "", f"{path}.priority")
        period = encounter.get("period") or {}
        self.put("expected_date", _date(period.get("start")), f"{path}.period.start")
        if period.get("end"):
            self.fail(f"{path}.period.end", NOT_UNDERSTOOD)
        if encounter.get("serviceProvider"):
            where = f"{path}.serviceProvider"
            provider = self.resolve(encounter["serviceProvider"], where, "Organization")
            if provider:
                self.sheet.recipient_organisation = self.our_id(provider[1])
                self.sheet.origins["recipient_organisation"] = where
                self.organisation_chain(provider[1])
                if not self.sheet.recipient_organisation:
                    self.fail(where, "Service destinataire inconnu de l'annuaire de la CPTS.")

    def read_modes(self, path: str, hospitalization: dict[str, Any]) -> None:
        """Entry and exit modes, from JDV_ModaliteEntree / JDV_ModaliteSortie codes."""
        where = f"{path}.hospitalization"
        self.only(hospitalization, where, {"admitSource", "dischargeDisposition"})
        for element, key, table in (
            ("admitSource", "entry_mode", codes.ENTRY_MODES),
            ("dischargeDisposition", "exit_mode", codes.EXIT_MODES),
        ):
            if not hospitalization.get(element):
                continue
            reverse = {(system, code): name for name, (system, code, _d) in table.items()}
            found = [reverse[c] for c in _codes(hospitalization[element]) if c in reverse]
            if not found or (key == "exit_mode" and self.sheet.kind == "referral"):
                self.fail(f"{where}.{element}", "Code non reconnu (jeux de valeurs CI-SIS).")
                continue
            self.put(key, found[0], f"{where}.{element}")

    # --- sections ------------------------------------------------------------------------

    def read_sections(self, sections: list[dict[str, Any]], path: str) -> None:
        known = {(system, code): key for key, system, code, _t in codes.SECTIONS[self.sheet.kind]}
        for index, section in enumerate(sections):
            where = f"{path}[{index}]"
            self.only(
                section,
                where,
                {
                    "title",
                    "code",
                    "text",
                    "entry",
                    "emptyReason",
                    "section",
                    "author",
                    "focus",
                    "mode",
                    "orderedBy",
                    "extension",
                    "id",
                },
            )
            keys = [known[c] for c in _codes(section.get("code")) if c in known]
            if not keys:
                self.fail(
                    f"{where}.code", "Section non reconnue (code LOINC inattendu pour ce document)."
                )
                continue
            key = keys[0]
            if key in codes.TEXT_SECTIONS:
                self.read_text_section(key, section, where)
            elif key == "follow_up":
                self.read_follow_up(section, where)
            else:
                getattr(self, f"section_{key}")(section, where)

    def section_text(self, section: dict[str, Any], path: str) -> str:
        div = (section.get("text") or {}).get("div", "")
        try:
            return narrative_text(div) if div else ""
        except ElementTree.ParseError:
            self.fail(f"{path}.text.div", "Narratif XHTML illisible.")
            return ""

    def entries_of(
        self, section: dict[str, Any], path: str, *types: str
    ) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for index, reference in enumerate(section.get("entry") or []):
            resolved = self.resolve(reference, f"{path}.entry[{index}]", *types)
            if resolved:
                self.check_resource(resolved[1], resolved[0])
                found.append(resolved)
        return found

    def read_text_section(self, key: str, section: dict[str, Any], path: str) -> None:
        for index, _reference in enumerate(section.get("entry") or []):
            self.fail(
                f"{path}.entry[{index}]", "Entrée non reprise : cette section est un texte libre."
            )
        self.put(key, self.section_text(section, path), f"{path}.text")

    def nil_known(self, section: dict[str, Any]) -> bool:
        return (codes.LIST_EMPTY_REASON, "nilknown") in _codes(section.get("emptyReason"))

    def medication_lines(self, section: dict[str, Any], path: str, key: str) -> None:
        lines = []
        for resource_path, resource in self.entries_of(section, path, "MedicationStatement"):
            line = self.medication_line(
                resource_path, resource, with_change=key == "discharge_medications"
            )
            if line.pop("reason", ""):
                self.fail(f"{resource_path}.statusReason", NOT_UNDERSTOOD)
            self.sheet.origins[f"{key}[{len(lines)}]"] = resource_path
            lines.append(line)
        self.put(key, lines, path)

    def medication_line(
        self, path: str, resource: dict[str, Any], *, with_change: bool
    ) -> dict[str, Any]:
        name = _text(resource.get("medicationCodeableConcept"))
        if resource.get("medicationReference"):
            medication = self.resolve(
                resource["medicationReference"], f"{path}.medicationReference", "Medication"
            )
            if medication:
                self.check_resource(medication[1], medication[0])
                name = _text(medication[1].get("code"))
        if not name:
            self.fail(f"{path}.medicationCodeableConcept", "Médicament sans nom.")
        line: dict[str, Any] = {"name": name}
        dosages = resource.get("dosage") or []
        for index, dosage in enumerate(dosages):
            if index > 0:
                self.fail(f"{path}.dosage[{index}]", "Une seule posologie par ligne de traitement.")
                continue
            self.only(dosage, f"{path}.dosage[{index}]", DOSAGE_ALLOWED)
            line["dose"] = dosage.get("text", "")
            line["frequency"] = _text((dosage.get("timing") or {}).get("code"))
            if set(dosage.get("timing") or {}) - {"code"}:
                self.fail(f"{path}.dosage[{index}].timing", NOT_UNDERSTOOD)
            line["route"] = _text(dosage.get("route"))
        period = resource.get("effectivePeriod") or {}
        line["start_date"] = _date(period.get("start") or resource.get("effectiveDateTime"))
        line["end_date"] = _date(period.get("end"))
        line["comment"] = "\n".join(n.get("text", "") for n in resource.get("note") or [])
        change = _extension(resource, codes.MEDICATION_CHANGE)
        if change:
            line["change"] = change[1].get("valueCode", "")
            if not with_change:
                self.fail(f"{path}.extension[{change[0]}]", NOT_UNDERSTOOD)
        duration = _extension(resource, codes.MEDICATION_DURATION)
        if duration:
            line["duration"] = duration[1].get("valueString", "")
            if not with_change:
                self.fail(f"{path}.extension[{duration[0]}]", NOT_UNDERSTOOD)
        line["reason"] = "\n".join(_text(r) for r in resource.get("statusReason") or [])
        return {key: value for key, value in line.items() if value not in (None, "")}

    def section_medications(self, section: dict[str, Any], path: str) -> None:
        self.medication_lines(section, path, "medications")
        if self.nil_known(section):
            self.put("medications_none", True, f"{path}.emptyReason")

    def section_discharge_medications(self, section: dict[str, Any], path: str) -> None:
        self.medication_lines(section, path, "discharge_medications")
        if self.nil_known(section):
            self.put("discharge_medications_none", True, f"{path}.emptyReason")

    def section_stopped_medications(self, section: dict[str, Any], path: str) -> None:
        lines = []
        for resource_path, resource in self.entries_of(section, path, "MedicationStatement"):
            line = self.medication_line(resource_path, resource, with_change=False)
            for extra in sorted(set(line) - {"name", "reason"}):
                self.fail(resource_path, f"Élément non repris pour un traitement arrêté : {extra}.")
            self.sheet.origins[f"stopped_medications[{len(lines)}]"] = resource_path
            lines.append({key: line[key] for key in ("name", "reason") if key in line})
        self.put("stopped_medications", lines, path)

    def section_allergies(self, section: dict[str, Any], path: str) -> None:
        lines = []
        for resource_path, resource in self.entries_of(section, path, "AllergyIntolerance"):
            line = {"substance": _text(resource.get("code"))}
            if not line["substance"]:
                self.fail(f"{resource_path}.code", "Allergie sans substance.")
            for index, reaction in enumerate(resource.get("reaction") or []):
                where = f"{resource_path}.reaction[{index}]"
                if index > 0:
                    self.fail(where, "Une seule réaction par allergie.")
                    continue
                self.only(reaction, where, REACTION_ALLOWED)
                line["reaction"] = _text((reaction.get("manifestation") or [{}])[0])
                original = _extension(reaction.get("_severity") or {}, codes.ORIGINAL_TEXT)
                severity = original[1].get("valueString", "") if original else ""
                line["severity"] = severity or codes.SEVERITY_LABELS.get(
                    reaction.get("severity", ""), ""
                )
            line["status"] = (resource.get("clinicalStatus") or {}).get("text", "")
            for index, note in enumerate(resource.get("note") or []):
                # A status no code means travels as a note (fhir.BundleBuilder.allergy).
                written = str(note.get("text") or "")
                if written.startswith(codes.ALLERGY_STATUS_NOTE) and not line["status"]:
                    line["status"] = written.removeprefix(codes.ALLERGY_STATUS_NOTE)
                else:
                    self.fail(f"{resource_path}.note[{index}]", NOT_UNDERSTOOD)
            self.sheet.origins[f"allergies[{len(lines)}]"] = resource_path
            lines.append({key: value for key, value in line.items() if value})
        self.put("allergies", lines, path)
        if self.nil_known(section):
            self.put("allergies_none_known", True, f"{path}.emptyReason")

    def observation_value(self, resource: dict[str, Any], path: str, kind: str) -> Any:
        if kind == "boolean" and "valueBoolean" in resource:
            return bool(resource["valueBoolean"])
        if kind == "string" and "valueString" in resource:
            return str(resource["valueString"])
        self.fail(path, f"Valeur attendue de type {kind}.")
        return None

    def section_social_context(self, section: dict[str, Any], path: str) -> None:
        for resource_path, resource in self.entries_of(section, path, "Observation"):
            keys = [
                c.removeprefix("social_context.")
                for s, c in _codes(resource.get("code"))
                if s == codes.LOCAL_FIELDS
                and c.removeprefix("social_context.") in codes.SOCIAL_OBSERVATIONS
            ]
            if not keys:
                self.fail(f"{resource_path}.code", "Observation sociale non reconnue.")
                continue
            value = self.observation_value(
                resource, resource_path, codes.SOCIAL_OBSERVATIONS[keys[0]][1]
            )
            if value is not None:
                self.put(f"social_context.{keys[0]}", value, resource_path)

    def section_stay(self, section: dict[str, Any], path: str) -> None:
        by_code = {
            code: (key, kind) for key, (code, _label, kind) in codes.STAY_OBSERVATIONS.items()
        }
        for resource_path, resource in self.entries_of(section, path, "Observation"):
            found = [
                by_code[c]
                for s, c in _codes(resource.get("code"))
                if s == codes.TA_ASIP and c in by_code
            ]
            if not found:
                self.fail(
                    f"{resource_path}.code",
                    "Élément de la synthèse non reconnu (codes MED-xxx du CI-SIS).",
                )
                continue
            key, kind = found[0]
            value = self.observation_value(resource, resource_path, kind)
            if value is not None:
                self.put(key, value, resource_path)
        if not section.get("entry"):
            # Another system's synthesis as plain narrative: it is the synthesis itself.
            self.put("stay_summary", self.section_text(section, path), f"{path}.text")

    def section_document_status(self, section: dict[str, Any], path: str) -> None:
        statuses = {
            (system, code): key for key, (system, code, _d) in codes.DOCUMENT_STATUS.items()
        }
        for resource_path, resource in self.entries_of(section, path, "Observation"):
            found = [
                statuses[c] for c in _codes(resource.get("valueCodeableConcept")) if c in statuses
            ]
            if not found:
                self.fail(
                    f"{resource_path}.valueCodeableConcept", "Statut du document non reconnu."
                )
                continue
            self.put("document_status", found[0], resource_path)

    def section_implanted_devices(self, section: dict[str, Any], path: str) -> None:
        lines = []
        for resource_path, use in self.entries_of(section, path, "DeviceUseStatement"):
            device = self.resolve(use.get("device"), f"{resource_path}.device", "Device")
            if not device:
                continue
            self.check_resource(device[1], device[0])
            names = device[1].get("deviceName") or []
            carriers = device[1].get("udiCarrier") or []
            line = {
                "description": names[0].get("name", "") if names else _text(device[1].get("type")),
                "identifier": (
                    carriers[0].get("carrierHRF") or carriers[0].get("deviceIdentifier", "")
                )
                if carriers
                else "",
                "date": _date(
                    use.get("timingDateTime") or (use.get("timingPeriod") or {}).get("start")
                ),
            }
            if not line["description"]:
                self.fail(f"{device[0]}.deviceName", "Dispositif sans description.")
            self.sheet.origins[f"implanted_devices[{len(lines)}]"] = resource_path
            lines.append({key: value for key, value in line.items() if value})
        self.put("implanted_devices", lines, path)

    def read_follow_up(self, section: dict[str, Any], path: str) -> None:
        known = {(system, code): key for key, system, code, _t in codes.FOLLOW_UP_SECTIONS}
        if not section.get("section"):
            self.put("follow_up.recommendations", self.section_text(section, path), f"{path}.text")
        for index, sub in enumerate(section.get("section") or []):
            where = f"{path}.section[{index}]"
            keys = [known[c] for c in _codes(sub.get("code")) if c in known]
            if not keys:
                self.fail(f"{where}.code", "Sous-section des suites non reconnue.")
                continue
            key = keys[0]
            if key == "recommendations":
                self.put(
                    "follow_up.recommendations", self.section_text(sub, where), f"{where}.text"
                )
                continue
            lines: list[Any] = []
            for resource_path, request in self.entries_of(sub, where, "ServiceRequest"):
                what = _text(request.get("code"))
                when = _date(
                    request.get("occurrenceDateTime")
                    or (request.get("occurrencePeriod") or {}).get("end")
                )
                if key == "acts":
                    lines.append(what)
                elif key == "exam_requests":
                    lines.append({k: v for k, v in (("what", what), ("by_date", when)) if v})
                else:
                    note = "\n".join(n.get("text", "") for n in request.get("note") or [])
                    lines.append(
                        {
                            k: v
                            for k, v in (
                                ("with", _text(request.get("performerType"))),
                                ("date", when),
                                ("note", note),
                            )
                            if v
                        }
                    )
                self.sheet.origins[f"follow_up.{key}[{len(lines) - 1}]"] = resource_path
            self.put(f"follow_up.{key}", lines, where)


def read_bundle(data: Any) -> ImportedSheet:
    """Parse a FHIR document Bundle; FieldErrors {JSON path: [reasons]} if anything is off.

    The FHIR models and the reader below are recursive: a Bundle nested a few hundred levels
    deep (extensions inside extensions, XHTML inside XHTML) would exhaust Python's stack. Its
    depth is checked first, whoever parsed it, and a RecursionError that still happens (the
    narrative's XHTML is not JSON) is the sender's error too.
    """
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise FieldErrors({"resourceType": ["Un Bundle FHIR R4 de type « document » est attendu."]})
    if exceeds_depth(data, settings.JSON_MAX_DEPTH):
        raise FieldErrors({"(bundle)": [too_deep_message()]})
    try:
        return _read_document(data)
    except RecursionError:
        raise FieldErrors({"(bundle)": ["Document trop profondément imbriqué."]}) from None


def _read_document(data: dict[str, Any]) -> ImportedSheet:
    from fhir.resources.R4B import get_fhir_model_class  # noqa: PLC0415 (heavy, used here only)
    from fhir.resources.R4B.bundle import Bundle  # noqa: PLC0415

    unknown = {
        f"entry[{index}].resource.resourceType": ["Type de ressource inconnu en FHIR R4."]
        for index, entry in enumerate(data.get("entry") or [])
        if isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and not _known_type(get_fhir_model_class, entry["resource"].get("resourceType"))
    } if isinstance(data.get("entry"), list) else {}  # fmt: skip
    if unknown:
        raise FieldErrors(unknown)
    try:
        Bundle.model_validate(data)
    except ValidationError as error:
        problems: dict[str, list[str]] = {}
        for item in error.errors():
            problems.setdefault(_pydantic_path(item["loc"]), []).append(str(item["msg"]))
        raise FieldErrors(problems) from None
    except (KeyError, LookupError, TypeError, ValueError) as error:
        # The models raise these on shapes they do not expect: still the sender's error.
        raise FieldErrors({"(bundle)": [f"Bundle illisible : {error}"]}) from None
    reader = DocumentReader(without_nulls(data))
    sheet = reader.read()
    if reader.errors:
        raise FieldErrors(reader.errors)
    return sheet
