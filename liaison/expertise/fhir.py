"""A tele-expertise request and its answer in FHIR R4: a `collection` Bundle holding the
`ServiceRequest` (the question, its urgency, the requester, the expert service, the patient's
consent as an annotation of who recorded it and when) and, once answered, a `Communication`
based on it (the opinion, the recommended actions, whether a consultation is needed) from the
expert to the requester, with the Patient, Practitioners and Organizations they reference.

Why not a `document` like the sheets: a request and its answer are an exchange between two
professionals with two authors and two moments, which ServiceRequest + Communication model
directly (the FHIR workflow pattern "request / response"); a Composition would have to pick
one author and one date. docs/teleexpertise.md. Validated with fhir.resources (R4B models)
in tests/expertise/test_outputs.py, as the sheets' bundles are.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils.timezone import now

from liaison.catalogue import SPECIALTY, choice_label
from liaison.models import ExpertiseRequest, LiaisonSheet
from liaison.outputs.fhir import BundleBuilder, facts_table, iso, paragraph, ref, urn_identifier

PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "asap"}
REQUEST_STATUS = {
    "draft": "draft", "sent": "active", "taken": "active", "more_info_requested": "on-hold",
    "answered": "completed", "closed": "completed", "declined": "revoked",
    "cancelled": "revoked",
}  # fmt: skip
TELE_EXPERTISE = {"text": "Télé-expertise (demande d'avis)"}


def expertise_bundle(sheet: LiaisonSheet, *, timestamp: datetime | None = None) -> dict[str, Any]:
    """The request (and its answer) as JSON-ready dicts; the caller checked access."""
    b = BundleBuilder(sheet)
    content = sheet.content or {}
    detail: ExpertiseRequest | None = getattr(sheet, "expertise", None)
    patient = b.patient_resource()
    requester = b.practitioner(sheet.author)
    service = b.organization(sheet.recipient_organisation) if sheet.recipient_organisation else ""
    question = content.get("question", "")
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [urn_identifier(sheet.code)],
        "status": REQUEST_STATUS.get(sheet.status, "unknown"),
        "intent": "order",
        "category": [TELE_EXPERTISE],
        "priority": PRIORITY.get(sheet.urgency or "routine", "routine"),
        "code": {"text": choice_label(SPECIALTY, content.get("specialty", ""))},
        "subject": ref(patient),
        "requester": ref(requester, sheet.author.display_name),
        "reasonCode": [{"text": question}] if question else [],
    }
    if sheet.sent_at:
        request["authoredOn"] = iso(sheet.sent_at)
    if service:
        request["performer"] = [ref(service, sheet.recipient_organisation.name)]  # type: ignore[union-attr]
    notes = [
        {"text": text}
        for text in (content.get("medical_history", ""), content.get("comment", ""))
        if text
    ]
    if detail is not None and detail.consent_at is not None and detail.consent_by is not None:
        consenter = b.practitioner(detail.consent_by)
        notes.append({
            "authorReference": ref(consenter), "time": iso(detail.consent_at),
            "text": "Patient informé ; consentement à la télé-expertise recueilli.",
        })  # fmt: skip
    if notes:
        request["note"] = notes
    if not request["reasonCode"]:
        del request["reasonCode"]
    request_url = b.add(
        b.url("ServiceRequest"), request,
        facts_table([("Question", question), ("Urgence", sheet.get_urgency_display())]),
    )  # fmt: skip
    if detail is not None and detail.answered_at is not None and detail.answered_by is not None:
        expert = b.practitioner(detail.answered_by)
        answer = detail.answer or {}
        payload = [{"contentString": answer.get("opinion", "")}]
        if answer.get("recommended_actions"):
            payload.append({"contentString": answer["recommended_actions"]})
        payload.append({"contentString": detail.get_consultation_display()})
        b.add(b.url("Communication"), {
            "resourceType": "Communication",
            "identifier": [urn_identifier(uuid.uuid5(sheet.code, "answer"))],
            "basedOn": [ref(request_url)],
            "status": "completed",
            "category": [TELE_EXPERTISE],
            "subject": ref(patient),
            "sent": iso(detail.answered_at),
            "sender": ref(expert, detail.answered_by.display_name),
            "recipient": [ref(requester, sheet.author.display_name)],
            "payload": payload,
        }, paragraph(answer.get("opinion", "")))  # fmt: skip
    moment = timestamp or now()
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(sheet.code, f"Bundle/{sheet.version}")),
        "identifier": urn_identifier(sheet.code),
        "type": "collection",
        "timestamp": iso(moment),
        "entry": b.entries,
    }
