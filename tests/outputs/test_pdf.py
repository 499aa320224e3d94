"""The PDF of a sheet: read back with pypdf, page by page."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from liaison.models import LiaisonSheet
from liaison.outputs.document import document_date, identity_line
from liaison.outputs.pdf import render_pdf
from security.models import AuditEntry
from tests.access import assert_hidden_from
from tests.outputs.conftest import FULL_DISCHARGE, FULL_PATIENT, MINIMAL_DISCHARGE

pytestmark = pytest.mark.django_db


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_every_page_carries_the_identity_the_date_and_n_of_n(make_letter, full_referral) -> None:
    many_lines = [
        {
            "name": f"Médicament {n}",
            "dose": "1 cp",
            "frequency": "1/j",
            "duration": "1 mois",
            "change": "new",
        }
        for n in range(60)
    ]
    letter = make_letter(
        {**FULL_DISCHARGE, "discharge_medications": many_lines}, referral=full_referral
    )
    pages = pages_of(render_pdf(letter))
    assert len(pages) >= 3
    identity = identity_line(letter.patient)
    assert identity.startswith("LEFÈVRE (usage MOREAU-CŒUR) Éloïse Marie — née le 15/03/1979")
    for number, text in enumerate(pages, start=1):
        assert identity in text, f"page {number} lacks the identity"
        assert f"Document du {document_date(letter)}" in text
        assert f"{number} / {len(pages)}" in text
        assert "Émis par Sophie Lambert" in text


def test_it_prints_every_filled_section_in_order_with_sender_and_signer(
    full_letter: LiaisonSheet,
) -> None:
    text = one_line(" ".join(pages_of(render_pdf(full_letter))))
    order = [
        "Séjour",
        "Événements du séjour",
        "Traitements de sortie",
        "Suites",
        "Destinataires",
        "Signature",
    ]
    positions = [text.find(title, text.find("Version")) for title in order]
    assert all(p > 0 for p in positions), dict(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    for value in (
        "Stimulateur cardiaque double chambre",
        "Ramipril",
        "Remplacé par sacubitril/valsartan",
        "Ionogramme sanguin",
        "Holter ECG des 24 h",
        "Entérobactérie BLSE",
        "Modifié",
        "Émetteur Sophie Lambert",
        "RPPS 10000000066",
        "Médecin signataire : Dr Sophie Lambert, cardiologie",
        "Signé électroniquement le",
        "Claire Martin",
        "Julie Petit",
        "En cours : résultats attendus",
    ):
        assert value in text, value


def test_french_accents_survive(full_letter: LiaisonSheet) -> None:
    text = " ".join(pages_of(render_pdf(full_letter)))
    for word in (
        "Éloïse",
        "LEFÈVRE",
        "MOREAU-CŒUR",
        "Cœur",
        "œdème",
        "décompensée",
        "Reçu",
        "première",
        "Événements",
        "À jeun",
        "Pénicilline",
        "Forêt",
    ):
        assert word in text, word
    assert {"é", "è", "ç", "œ", "É", "È", "Œ"} <= set(text)


def test_a_minimal_letter_has_no_empty_heading(minimal_letter: LiaisonSheet) -> None:
    text = one_line(" ".join(pages_of(render_pdf(minimal_letter))))
    for present in (
        "Séjour",
        "Événements du séjour",
        "Traitements de sortie",
        "Aucun traitement de sortie",
        "Médecin signataire : Dr Paul Rousseau, 02 38 29 38 00",
        "GARÇON Noël",
    ):
        assert present in text, present
    for absent in (
        "Suites",  # nothing follows: the signing doctor is printed under the signature
        "Médecin signataire et contact",
        "Dispositifs médicaux implantés",
        "Traitements arrêtés",
        "Résultats en attente",
        "Actes à réaliser",
        "Examens demandés",
        "Consultations prévues",
        "Recommandations",
        "Allergies identifiées",
        "Événements indésirables",
        "BMR/BHRe identifiée",
    ):
        assert absent not in text, absent


def test_the_api_download_is_a_pdf_and_is_audited(
    client_for, demo, full_letter: LiaisonSheet
) -> None:
    response = client_for(demo["dr.martin"]).get(
        f"/api/v1/liaison-sheets/{full_letter.code}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert "Lef" not in response["Content-Disposition"]  # no patient name in file names
    assert response.content.startswith(b"%PDF")
    assert (
        AuditEntry.objects.filter(
            action="liaison_sheet.pdf", target_code=full_letter.code, actor=demo["dr.martin"]
        ).count()
        == 1
    )


def test_the_pdf_is_hidden_from_outsiders(client_for, demo, full_letter: LiaisonSheet) -> None:
    url = f"/api/v1/liaison-sheets/{full_letter.code}/pdf/"
    assert_hidden_from(
        client_for, "get", url, [demo["hop.urgences"], demo["as.moreau"], demo["coord"]]
    )
    assert not AuditEntry.objects.filter(action="liaison_sheet.pdf").exists()


def test_no_known_allergy_is_printed_as_the_fhir_export_says(make_letter) -> None:
    letter = make_letter({**MINIMAL_DISCHARGE, "allergies_none_known": True})
    text = one_line(" ".join(pages_of(render_pdf(letter))))
    assert "Allergies Aucune allergie connue Oui" in text


def test_labels_carry_no_form_hint(full_letter: LiaisonSheet) -> None:
    text = one_line(" ".join(pages_of(render_pdf(full_letter))))
    assert "Actes à réaliser Pansement du boîtier à J7" in text
    assert "par ligne" not in text


def test_the_referring_doctor_is_named_as_such(full_letter: LiaisonSheet) -> None:
    text = one_line(" ".join(pages_of(render_pdf(full_letter))))
    first_page = one_line(pages_of(render_pdf(full_letter))[0])
    assert "Médecin adresseur Claire Martin — Médecin généraliste" in first_page
    assert text.count("Claire Martin") == 2  # the referring doctor, then as a recipient


def test_a_heading_is_on_the_same_page_as_what_it_heads(make_letter, full_referral) -> None:
    """Whatever the letter's length, "Destinataires" (and a table's label) never ends a page."""
    stranded = []
    for lines in range(12, 40):
        medications = [
            {"name": f"Médicament {n}", "dose": "1 cp", "frequency": "1/j", "duration": "1 mois"}
            for n in range(lines)
        ]
        letter = make_letter(
            {**FULL_DISCHARGE, "discharge_medications": medications},
            patient=FULL_PATIENT,
            referral=full_referral,
            send=False,
        )
        for page in pages_of(render_pdf(letter)):
            text = one_line(page)
            if "Destinataires" in text and "Claire Martin — Médecin généraliste" not in text:
                stranded.append((lines, "Destinataires"))
            if "Traitements arrêtés" in text and "Ramipril" not in text:
                stranded.append((lines, "Traitements arrêtés"))
    assert not stranded


def test_running_lines_wrap_instead_of_being_cut(make_letter, full_referral) -> None:
    patient = {
        **FULL_PATIENT,
        "used_family_name": "Moreau-Cœur de la Roche-Aymon-Saint-Hilaire",
        "given_names": "Éloïse Marie Bernadette Geneviève Anne-Sophie",
    }
    letter = make_letter(FULL_DISCHARGE, patient=patient, referral=full_referral, send=False)
    pages = pages_of(render_pdf(letter))
    identity = identity_line(letter.patient)
    for page in pages:
        text = one_line(page)
        assert "…" not in text
        assert identity in text
        assert "Centre hospitalier de Gien — Cardiologie" in text  # the sender, whole


def test_a_discharge_treatments_dates_are_printed_as_fhir_carries_them(
    full_letter: LiaisonSheet,
) -> None:
    text = one_line(" ".join(pages_of(render_pdf(full_letter))))
    assert "Début" in text
    assert "Fin" in text
    assert "09/11/2026 09/12/2026" in text  # Furosémide, from the 9th of November for a month
