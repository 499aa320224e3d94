"""Reading PSC's claims: the RPPS in SubjectNameID, the profession in SubjectRefPro.

Shapes from DOMAIN.md §7.2 (generate-VIHF's model of PSC's UserInfo). Codes: TRE-G15
(profession: 10 médecin, 21 pharmacien, 40 chirurgien-dentiste, 50 sage-femme, 60 infirmier,
70 masseur-kinésithérapeute, 91 orthophoniste) and TRE-R38 (savoir-faire: SM54 médecine
générale, SM26 qualifié en médecine générale).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from directory.identifiers import validate_rpps
from directory.models import Member

RPPS_PREFIX = "8"  # IdNat_PS of a professional registered in the RPPS: "8" + the RPPS
_GENERAL_PRACTICE = {"SM54", "SM26"}
_PROFESSIONS: dict[str, str] = {
    "21": Member.Profession.PHARMACIST,
    "40": Member.Profession.DENTIST,
    "50": Member.Profession.MIDWIFE,
    "60": Member.Profession.NURSE,
    "70": Member.Profession.PHYSIOTHERAPIST,
    "91": Member.Profession.SPEECH_THERAPIST,
}


def rpps_of(userinfo: dict[str, Any]) -> str | None:
    """The RPPS number of the login, or None (an ADELI-only national id, or a bad one)."""
    national_id = str(userinfo.get("SubjectNameID") or "")
    if not national_id.startswith(RPPS_PREFIX):
        return None
    rpps = national_id[len(RPPS_PREFIX) :]
    try:
        validate_rpps(rpps)
    except ValidationError:
        return None
    return rpps


def exercices_of(userinfo: dict[str, Any]) -> list[dict[str, Any]]:
    ref_pro = userinfo.get("SubjectRefPro")
    exercices = ref_pro.get("exercices") if isinstance(ref_pro, dict) else None
    return [e for e in exercices if isinstance(e, dict)] if isinstance(exercices, list) else []


def reported_professions(userinfo: dict[str, Any]) -> list[tuple[str, str]]:
    """(directory profession or "", PSC's codes) for each exercice PSC reports."""
    reported = []
    for exercice in exercices_of(userinfo):
        code = str(exercice.get("codeProfession") or "")
        savoir_faire = str(exercice.get("codeSavoirFaire") or "")
        profession: str
        if code == "10":
            profession = (
                Member.Profession.GENERAL_PRACTITIONER
                if savoir_faire in _GENERAL_PRACTICE
                else Member.Profession.SPECIALIST
            )
        else:
            profession = _PROFESSIONS.get(code, "")
        codes = f"{code} / {savoir_faire}" if savoir_faire else code
        reported.append((str(profession), codes))
    return reported
