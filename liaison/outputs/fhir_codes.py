"""Code systems, identifier systems and value maps shared by the FHIR export and import.

Sources: DOMAIN.md Part A ("Identifier systems", LOINC codes of each key) and Part B §2–3
(CI-SIS sections, TA_ASIP codes, JDV_ModaliteEntree / JDV_ModaliteSortie, FR Core). What has
no official home (a few free-text values the data dictionary keeps as written) uses the
service's own definitions under LOCAL, listed in docs/outputs.md.
"""

from __future__ import annotations

import unicodedata

# Terminologies
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
TA_ASIP = "urn:oid:1.2.250.1.213.1.1.4.322"  # CI-SIS codes: ORG-070, MED-142, GEN-065 …
FINESS_CATEGORY = "urn:oid:1.2.250.1.213.1.6.1.8"  # JDV_ModaliteSortie's SSR / HAD / EHPAD
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
ORIGINAL_TEXT = "http://hl7.org/fhir/StructureDefinition/originalText"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
VERSION_NUMBER = (
    "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber"
)

# FR Core (Interop-Santé): identity reliability, birth given names, INSEE code, INS types
FR_CORE = "https://hl7.fr/ig/fhir/core"
IDENTITY_RELIABILITY = f"{FR_CORE}/StructureDefinition/fr-core-identity-reliability"
IDENTITY_STATUS_SYSTEM = f"{FR_CORE}/CodeSystem/fr-core-cs-identity-status"
BIRTH_LIST_GIVEN_NAME = f"{FR_CORE}/StructureDefinition/fr-core-patient-birth-list-given-name"
INSEE_CODE = f"{FR_CORE}/StructureDefinition/fr-core-address-insee-code"
INSEE_COMMUNE = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"
IDENTIFIER_TYPE = f"{FR_CORE}/CodeSystem/fr-core-cs-v2-0203"
CONTACT_RELATIONSHIP = f"{FR_CORE}/CodeSystem/fr-core-cs-contact-relationship"
ROLE_CLASS = "https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass"

# Identifiers (DOMAIN.md Part A "Identifier systems")
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
INS_NIR_TEST = "urn:oid:1.2.250.1.213.1.4.10"
INS_NIR_DEMO = "urn:oid:1.2.250.1.213.1.4.11"
INS_SYSTEMS = {INS_NIR: "INS-NIR", INS_NIR_TEST: "INS-NIR-TEST", INS_NIR_DEMO: "INS-NIR-DEMO"}
RPPS = "https://rpps.esante.gouv.fr"
FINESS = "https://finess.esante.gouv.fr"
URN = "urn:ietf:rfc:3986"  # our own objects: urn:uuid:<id> (the API's `id`)

# The ANS test identities (fictitious patients). They travel under the test OID so that no
# receiving system can take them for a real person's INS; every other INS is INS-NIR.
TEST_INS = frozenset({"279035121518989"})

# The service's own definitions: identifiers, not addresses (nothing needs to resolve).
LOCAL = "https://cpts-liaison.example/fhir"
LOCAL_SECTIONS = f"{LOCAL}/CodeSystem/liaison-sections"
LOCAL_FIELDS = f"{LOCAL}/CodeSystem/liaison-fields"
MEDICATION_CHANGE = f"{LOCAL}/StructureDefinition/medication-change"
MEDICATION_CHANGE_SYSTEM = f"{LOCAL}/CodeSystem/medication-change"
MEDICATION_DURATION = f"{LOCAL}/StructureDefinition/medication-duration"
INFORMATION_RECIPIENT = f"{LOCAL}/StructureDefinition/information-recipient"
IN_RESPONSE_TO = f"{LOCAL}/StructureDefinition/in-response-to"

DOCUMENT_TYPES = {
    "referral": (
        "18761-7",
        "Note de transfert (dont lettre de liaison à l'entrée en établissement de soins)",
        "Lettre de liaison à l'entrée en établissement de santé",
    ),
    "discharge": (
        "11490-0",
        "Lettre de liaison à la sortie d'un établissement de soins",
        "Lettre de liaison à la sortie de l'établissement de santé",
    ),
}

GENDER = {"F": "female", "M": "male", "U": "unknown"}

URGENCY = {
    "routine": ("R", "routine"),
    "urgent": ("UR", "urgent"),
    "emergency": ("EM", "emergency"),
}

ENTRY_MODES = {
    "emergency": (SNOMED, "183452005", "Hospitalisation en urgence"),
    "scheduled": (SNOMED, "8715000", "Hospitalisation programmée"),
    "transfer": (SNOMED, "107724000", "Transfert du patient"),
    "other": (TA_ASIP, "GEN-092.06.07", "Autre modalité d'entrée"),
}
EXIT_MODES = {
    "home": (SNOMED, "160849004", "Retour au domicile"),
    "ssr": (FINESS_CATEGORY, "109", "Etablissement de santé privé autorisé en SSR"),
    "had": (FINESS_CATEGORY, "127", "Hospitalisation à domicile"),
    "ehpad": (FINESS_CATEGORY, "500", "EHPAD"),
    "other_hospital": (TA_ASIP, "GEN-092.06.01", "Autre établissement de santé"),
    "other": (TA_ASIP, "GEN-092.06.03", "Autre destination"),
    # Death is not in JDV_ModaliteSortie: HL7's discharge disposition "expired".
    "death": (DISCHARGE_DISPOSITION, "exp", "Décès"),
}

# "Statut du document" (GEN-065), JDV_StatutDoc_CISIS.
DOCUMENT_STATUS = {
    "in_progress": (SNOMED, "385651009", "En cours"),
    "final": (SNOMED, "398166005", "Réalisé"),
}

# Discharge stay summary, CI-SIS "FR-Resultats-evenements-LDL-SES" entries.
STAY_OBSERVATIONS = {
    "stay_summary": ("MED-142", "Synthèse médicale", "string"),
    "adverse_events": ("MED-143", "Evénements indésirables pendant l'hospitalisation", "string"),
    "mdro_search_done": (
        "MED-309",
        "Recherche de microorganismes multi-résistants ou émergents effectuée",
        "boolean",
    ),
    "mdro_identified": (
        "MED-144",
        "Identification de micro-organismes multirésistants ou émergents",
        "string",
    ),
    "transfusion": ("MED-145", "Transfusion de produits sanguins", "boolean"),
    "transfusion_incidents": ("MED-146", "Accidents transfusionnels", "string"),
    "blood_derivatives": ("MED-147", "Administration de dérivés du sang", "boolean"),
    "blood_derivatives_incidents": (
        "MED-148",
        "Evénements indésirables suite à l'administration de dérivés du sang",
        "string",
    ),
}

SOCIAL_OBSERVATIONS = {
    "lives_alone": ("Vit seul(e)", "boolean"),
    "home_help": ("Aides à domicile", "string"),
    "caregiver": ("Aidant", "string"),
    "social_worker": ("Assistant(e) social(e)", "string"),
}

CONTACT_ROLES = {
    "trusted_person": (CONTACT_RELATIONSHIP, "K", "Personne de confiance"),
    "emergency_contact": (ROLE_CLASS, "ECON", "personne à prévenir en cas d'urgence"),
}

# Free-text allergy status and severity, mapped to FHIR codes when the words say so. The
# status binding is required: a wording not listed here travels as a note, never as an
# uncoded clinicalStatus (see `allergy_clinical_status`). Keys are lower case, unaccented.
ALLERGY_STATUS = {
    **dict.fromkeys(
        ["active", "actif", "actuelle", "actuel", "en cours", "presente", "present",
         "persistante", "persistant"],
        "active",
    ),
    **dict.fromkeys(
        ["inactive", "inactif", "ancienne", "ancien", "passee", "passe", "historique"],
        "inactive",
    ),
    **dict.fromkeys(
        ["resolved", "resolue", "resolu", "guerie", "gueri", "disparue", "disparu"],
        "resolved",
    ),
}  # fmt: skip
ALLERGY_STATUS_NOTE = "Statut indiqué : "


def wording_key(text: str) -> str:
    """ "  Résolue " and "resolue" are the same answer: lower case, no accents, no edges."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def allergy_clinical_status(text: str) -> str | None:
    """The allergyintolerance-clinical code a written status means, if it says one."""
    return ALLERGY_STATUS.get(wording_key(text))


ALLERGY_SEVERITY = {
    "mild": "mild",
    "légère": "mild",
    "legere": "mild",
    "léger": "mild",
    "faible": "mild",
    "moderate": "moderate",
    "modérée": "moderate",
    "moderee": "moderate",
    "modéré": "moderate",
    "severe": "severe",
    "sévère": "severe",
    "grave": "severe",
}
SEVERITY_LABELS = {"mild": "légère", "moderate": "modérée", "severe": "sévère"}

CHANGE_LABELS = {"new": "Nouveau", "modified": "Modifié", "continued": "Poursuivi"}

# Composition sections, in DOMAIN.md Part A's order: (key, code system, code, title).
SECTIONS = {
    "referral": [
        ("reason", LOINC, "42349-1", "Motif d'hospitalisation"),
        ("medications", LOINC, "42346-7", "Traitements à l'admission"),
        ("allergies", LOINC, "48765-2", "Allergies et hypersensibilités connues"),
        ("medical_history", LOINC, "11348-0", "Antécédents médicaux"),
        ("surgical_history", LOINC, "47519-4", "Antécédents chirurgicaux"),
        ("social_context", LOINC, "29762-2", "Contexte social et mode de vie"),
        ("advance_directives", LOINC, "42348-3", "Directives anticipées"),
        ("comment", LOINC, "55112-7", "Autres informations"),
        ("contact_back", LOCAL_SECTIONS, "contact_back", "Pour joindre l'émetteur"),
    ],
    "discharge": [
        ("document_status", LOINC, "33557-0", "Statut du document"),
        ("reason", LOINC, "42349-1", "Motif de l'hospitalisation"),
        ("stay", LOINC, "42545-4", "Synthèse médicale du séjour"),
        ("implanted_devices", LOINC, "46264-8", "Dispositifs médicaux"),
        ("discharge_medications", LOINC, "10183-2", "Traitements à la sortie"),
        ("stopped_medications", LOINC, "18610-6", "Traitements arrêtés durant le séjour"),
        ("pending_results", LOINC, "30954-2", "Résultats d'examens / Autres informations attendus"),
        ("follow_up", LOINC, "18776-5", "Suites à donner"),
        ("allergies", LOINC, "48765-2", "Allergies identifiées pendant le séjour"),
        ("hospital_contact", LOCAL_SECTIONS, "hospital_contact", "Médecin signataire et contact"),
    ],
}
FOLLOW_UP_SECTIONS = [
    ("acts", LOCAL_SECTIONS, "follow_up.acts", "Actes à réaliser"),
    ("exam_requests", LOCAL_SECTIONS, "follow_up.exam_requests", "Examens demandés"),
    ("consultations", LOCAL_SECTIONS, "follow_up.consultations", "Consultations prévues"),
    ("recommendations", LOCAL_SECTIONS, "follow_up.recommendations", "Recommandations"),
]
# Sections whose whole value is one free text, carried by the section's narrative.
TEXT_SECTIONS = frozenset(
    {
        "reason",
        "medical_history",
        "surgical_history",
        "advance_directives",
        "comment",
        "contact_back",
        "pending_results",
        "hospital_contact",
    }
)
