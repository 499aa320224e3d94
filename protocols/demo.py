"""Demo protocols and resource guide, loaded idempotently through the services.

Two national cooperation protocols and one local pluriprofessional protocol with two
versions. Their texts are short summaries written for this demo: they are not the official
protocols and must not be used as such. Three fictitious patients are included in the
cystitis protocol (one has left it), so its page and the indicators show inclusions. The
guide gets its themes, the theme links of the demo organisations and members, and a few
office hours.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from django.db import transaction
from django.utils.timezone import localdate

from directory.models import Member, Organisation
from protocols.guide import services as guide_services
from protocols.guide.services import ThemeChoice
from protocols.models import MemberTheme, OrganisationTheme, Protocol, Theme
from protocols.services import drafting, inclusions, lifecycle, participation

DEMO_NOTICE = "*Résumé rédigé pour la démonstration : ce n'est pas le texte officiel.*\n\n"

THEMES = [
    ("personnes-agees", "Personnes âgées", "Maintien à domicile, perte d'autonomie, chutes."),
    ("addictions", "Addictions", "Alcool, tabac, substances : repérage et accompagnement."),
    (
        "sante-mentale",
        "Santé mentale",
        "Souffrance psychique, orientation vers les soins spécialisés.",
    ),
    ("precarite", "Précarité", "Accès aux droits et aux soins des personnes en difficulté."),
    ("enfance", "Enfance", "Suivi des enfants et soutien aux familles."),
    ("soins-non-programmes", "Soins non programmés", "Une réponse le jour même ou sous 24 heures."),
]

ORGANISATION_THEMES = {
    "MSP des Tilleuls": [
        ("soins-non-programmes", "Consultations sans rendez-vous le samedi matin"),
        ("personnes-agees", "Visites à domicile et repérage de la fragilité"),
    ],
    "Cabinet médical du Port": [("soins-non-programmes", "Créneaux réservés le jour même")],
    "Urgences": [("soins-non-programmes", "Urgences vitales et avis spécialisés, 24 h/24")],
    "Médecine interne": [("personnes-agees", "Hôpital de jour gériatrique, bilans de chute")],
    "Pharmacie de la Loire": [
        ("addictions", "Traitements de substitution, kits de prévention"),
        ("soins-non-programmes", "Test rapide d'angine et de cystite"),
    ],
    "Service social départemental": [
        ("precarite", "Accès aux droits, aide alimentaire, logement"),
        ("personnes-agees", "Allocation personnalisée d'autonomie"),
    ],
    "CPTS du Val de Loire": [
        ("sante-mentale", "Orientation vers le CMP et les psychologues du territoire")
    ],
}

MEMBER_THEMES = {
    "as.moreau": [
        ("precarite", "Permanence d'accès aux droits"),
        ("enfance", "Soutien aux familles"),
    ],
    "ide.petit": [("personnes-agees", "Soins à domicile, surveillance des traitements")],
    "dr.leroy": [("addictions", "Sevrage tabagique et alcool"), ("sante-mentale", "")],
    "dr.bernard": [("enfance", "Suivi des enfants et vaccinations")],
}

OFFICE_HOURS = {
    "MSP des Tilleuls": [(5, time(9), time(12), "MSP des Tilleuls", "sans rendez-vous")],
    "Service social départemental": [(1, time(14), time(17), "Mairie de Beaulieu-sur-Loire", "")],
    "Pharmacie de la Loire": [
        (6, time(10), time(12), "", "garde du dimanche, une semaine sur quatre")
    ],
}
MEMBER_HOURS = {"as.moreau": [(3, time(9), time(12), "MSP des Tilleuls", "sur rendez-vous")]}

CYSTITIS: dict[str, Any] = {
    "title": "Brûlure mictionnelle et pollakiurie chez la femme de 16 à 65 ans",
    "legal_reference": "Protocole national de coopération (arrêté du 9 mars 2023)",
    "delegant_professions": ["medecin_generaliste"],
    "delegate_professions": ["infirmier", "pharmacien"],
    "objective": DEMO_NOTICE
    + "Permettre à une femme qui présente des signes simples de cystite d'être "
    "prise en charge le jour même par l'infirmier ou le pharmacien de l'équipe, sans passer par "
    "les urgences.",
    "patients": "Femmes de 16 à 65 ans se plaignant de brûlures en urinant ou d'envies fréquentes.",
    "inclusion_criteria": "- signes urinaires depuis moins de 3 jours\n"
    "- consentement de la patiente",
    "exclusion_criteria": "- fièvre, frissons ou douleur lombaire\n- grossesse possible\n"
    "- homme, ou âge hors de 16–65 ans\n- épisode récent traité dans les 3 derniers mois",
    "urgent_exclusions": "Orientation immédiate vers un médecin ou les urgences, sans "
    "bandelette :\n"
    "- fièvre au-delà de 38 °C, température sous 36 °C ou frissons\n"
    "- douleur du dos ou du flanc, vomissements, diarrhée ou douleur abdominale "
    "(signes de pyélonéphrite)",
    "withdrawal_criteria": "- la patiente retire son accord\n"
    "- symptômes persistants à 72 heures ou récidive dans le mois\n"
    "- apparition d'un critère d'exclusion pendant la prise en charge",
    "derogatory_acts": "- réalisation et interprétation de la bandelette urinaire dans le cadre "
    "du protocole\n"
    "- délivrance du traitement antibiotique prévu, sans prescription médicale, si la "
    "bandelette est positive",
    "non_derogatory_acts": "- recueil des symptômes et vérification des critères d'exclusion\n"
    "- conseils d'hydratation et de prévention des récidives\n"
    "- remise d'une fiche d'information à la patiente",
    "steps": "1. Vérifier les critères d'exclusion.\n2. Réaliser la bandelette urinaire.\n"
    "3. Si elle est positive, délivrer le traitement prévu et expliquer la conduite à tenir.\n"
    "4. Informer le médecin traitant par messagerie sécurisée.",
    "referral_back": "Tout critère d'exclusion, ou l'absence d'amélioration à 72 heures : "
    "orientation vers le médecin le jour même.",
    "information_flow": "- compte rendu au médecin traitant par messagerie sécurisée le jour "
    "même (résultat de la bandelette, traitement délivré)\n"
    "- résultat versé dans Mon Espace Santé, sauf opposition de la patiente\n"
    "- en cas de réorientation, le délégué appelle le médecin délégant",
    "training": "Formation de 4 heures (théorie et cas pratiques), en partie à distance.",
    "training_hours": 4,
    "patient_information": "La patiente est informée qu'elle est prise en charge dans le cadre "
    "d'un protocole et peut refuser.",
    "indicators": "Nombre de patientes prises en charge, taux de reprise par le médecin, "
    "événements indésirables, satisfaction des professionnels.",
    "adverse_events": "Tout événement indésirable est signalé au médecin délégant et analysé en "
    "réunion d'équipe.",
}

SORE_THROAT: dict[str, Any] = {
    "title": "Odynophagie (mal de gorge) de l'adulte",
    "legal_reference": "Protocole national de coopération (arrêté du 6 mars 2020)",
    "delegant_professions": ["medecin_generaliste"],
    "delegate_professions": ["infirmier", "pharmacien"],
    "objective": DEMO_NOTICE + "Répondre le jour même à un mal de gorge simple en repérant, par un "
    "test rapide, les angines bactériennes qui relèvent d'un antibiotique.",
    "patients": "Adultes se plaignant d'une douleur à la déglutition.",
    "exclusion_criteria": "- gêne respiratoire ou difficulté à avaler la salive\n"
    "- fièvre élevée mal tolérée\n- immunodépression connue",
    "urgent_exclusions": "Appel du 15 ou orientation aux urgences sans délai :\n"
    "- difficulté à respirer ou à avaler sa salive\n"
    "- voix étouffée, gonflement du cou ou trismus\n"
    "- altération de l'état général",
    "withdrawal_criteria": "- le patient retire son accord\n"
    "- aggravation ou absence d'amélioration à 48 heures\n"
    "- troisième épisode dans l'année",
    "derogatory_acts": "- réalisation du test rapide d'orientation diagnostique du "
    "streptocoque\n"
    "- délivrance de l'antibiotique prévu par le protocole si le test est positif",
    "non_derogatory_acts": "- calcul du score clinique\n"
    "- conseils et traitement des symptômes (antalgiques, hydratation)",
    "steps": "1. Calculer le score clinique.\n"
    "2. Si le score le justifie, réaliser le test rapide.\n"
    "3. Test positif : délivrer le traitement prévu. Test négatif : traitement des symptômes.\n"
    "4. Informer le médecin traitant.",
    "referral_back": "Signes de gravité : urgences. Pas d'amélioration à 48 heures : médecin.",
    "information_flow": "Compte rendu au médecin traitant par messagerie sécurisée (score, "
    "résultat du test, traitement), le jour même.",
    "training": "Formation au score clinique et au test rapide d'orientation diagnostique, "
    "puis premières prises en charge avec un pharmacien ou un infirmier déjà formé.",
    "training_hours": 3,
    "training_supervised_cases": 5,
    "indicators": "Patients pris en charge, tests réalisés, reprises par le médecin.",
}

FALL_V1: dict[str, Any] = {
    "title": "Chute d'un patient sous anticoagulant à domicile",
    "professions": ["medecin_generaliste", "infirmier", "pharmacien", "masseur_kinesitherapeute"],
    "objective": "Que chaque professionnel qui constate la chute d'un patient sous anticoagulant "
    "sache quoi faire, qui prévenir et dans quel délai.",
    "patients": "Patients du territoire traités par anticoagulant oral ou injectable.",
    "urgent_exclusions": "Traumatisme crânien, perte de connaissance, saignement qui ne s'arrête "
    "pas ou douleur de hanche empêchant l'appui : appel du 15, le protocole ne s'applique pas.",
    "withdrawal_criteria": "- arrêt de l'anticoagulant\n"
    "- entrée en établissement (EHPAD, hospitalisation de longue durée)",
    "derogatory_acts": "Aucun : protocole pluriprofessionnel, chacun agit dans le cadre de ses "
    "compétences.",
    "non_derogatory_acts": "- infirmier, kinésithérapeute, pharmacien : repérage de la chute et "
    "des signes de gravité, alerte du médecin traitant\n"
    "- médecin traitant : examen, adaptation du traitement anticoagulant",
    "steps": "1. Rechercher un traumatisme crânien, une perte de connaissance, un hématome.\n"
    "2. Traumatisme crânien : appeler le 15.\n"
    "3. Sinon, prévenir le médecin traitant le jour même.\n"
    "4. Noter la chute dans le dossier partagé.",
    "referral_back": "Traumatisme crânien ou perte de connaissance : urgences sans délai.",
    "information_flow": "- le professionnel qui constate la chute prévient le médecin traitant "
    "le jour même, par téléphone ou messagerie sécurisée\n"
    "- la chute est notée dans le dossier partagé, lu par toute l'équipe",
    "patient_information": "Remettre au patient et à son entourage la fiche "
    "« Que faire après une chute ».",
    "indicators": "Nombre de chutes signalées, délai d'information du médecin traitant.",
}
FALL_V2_CHANGES: dict[str, Any] = {
    "change_note": "Ajout de la surveillance à 24 heures et du bilan de prévention des chutes.",
    "steps": "1. Rechercher un traumatisme crânien, une perte de connaissance, un hématome.\n"
    "2. Traumatisme crânien : appeler le 15.\n"
    "3. Sinon, prévenir le médecin traitant le jour même.\n"
    "4. Surveillance par l'infirmier à 24 heures (conscience, céphalées, vomissements).\n"
    "5. Proposer un bilan de prévention des chutes (kinésithérapeute, aménagement du domicile).\n"
    "6. Noter la chute dans le dossier partagé.",
    "adverse_events": "Toute chute suivie d'une hospitalisation est revue en réunion "
    "pluriprofessionnelle.",
    "information_flow": "- le professionnel qui constate la chute prévient le médecin traitant "
    "le jour même, par téléphone ou messagerie sécurisée\n"
    "- l'infirmier transmet le résultat de la surveillance à 24 heures au médecin traitant\n"
    "- la chute est notée dans le dossier partagé, lu par toute l'équipe",
}


def _publish(
    protocol: Protocol, *, author: Member, reviewers: list[Member], publisher: Member
) -> None:
    version = protocol.versions.order_by("-number").first()
    assert version is not None
    version = lifecycle.submit_for_review(actor=author, version=version, reviewers=reviewers)
    for reviewer in reviewers:
        version = lifecycle.approve_version(actor=reviewer, version=version)
    lifecycle.publish_version(actor=publisher, version=version)


def _themes() -> dict[str, Theme]:
    themes = {theme.slug: theme for theme in Theme.objects.all()}
    for position, (slug, name, description) in enumerate(THEMES):
        if slug not in themes:
            themes[slug] = guide_services.create_theme(
                actor=None,
                name=name,
                slug=slug,
                description=description,
                position=(position + 1) * 10,
            )
    return themes


def _guide(members: dict[str, Member], themes: dict[str, Theme]) -> None:
    for organisation in Organisation.objects.filter(name__in=ORGANISATION_THEMES):
        if OrganisationTheme.objects.filter(organisation=organisation).exists():
            continue  # edited since: leave it alone
        guide_services.set_organisation_guide(
            actor=None,
            organisation=organisation,
            themes=[
                ThemeChoice(themes[slug], note)
                for slug, note in ORGANISATION_THEMES[organisation.name]
            ],
            office_hours=[
                dict(
                    zip(
                        ("weekday", "starts_at", "ends_at", "location", "details"), row, strict=True
                    )
                )
                for row in OFFICE_HOURS.get(organisation.name, [])
            ],
        )
    for username, links in MEMBER_THEMES.items():
        member = members.get(username)
        if member is None or MemberTheme.objects.filter(member=member).exists():
            continue
        guide_services.set_member_guide(
            actor=None,
            member=member,
            themes=[ThemeChoice(themes[slug], note) for slug, note in links],
            office_hours=[
                dict(
                    zip(
                        ("weekday", "starts_at", "ends_at", "location", "details"), row, strict=True
                    )
                )
                for row in MEMBER_HOURS.get(username, [])
            ],
        )


def _review_date(days: int) -> date:
    return localdate() + timedelta(days=days)


@transaction.atomic
def load_protocols(members: dict[str, Member]) -> int:
    """Create the demo protocols and guide if missing; return how many protocols were created."""
    themes = _themes()
    _guide(members, themes)
    coord, martin, leroy = members["coord"], members["dr.martin"], members["dr.leroy"]
    petit, durand = members["ide.petit"], members["pharma.durand"]
    existing = set(
        Protocol.objects.filter(
            reference__in=["NAT-CYSTITE", "NAT-ANGINE", "CHUTE-01"]
        ).values_list("reference", flat=True)
    )
    created = 0

    if "NAT-CYSTITE" not in existing:
        protocol = drafting.create_protocol(
            actor=coord,
            kind=Protocol.Kind.NATIONAL,
            reference="NAT-CYSTITE",
            themes=[themes["soins-non-programmes"]],
            content={**CYSTITIS, "review_date": _review_date(300)},
        )
        _publish(protocol, author=coord, reviewers=[martin], publisher=coord)
        protocol.refresh_from_db()
        participation.register_participant(
            actor=coord, protocol=protocol, member=martin, role="delegant"
        )
        participation.register_participant(
            actor=coord,
            protocol=protocol,
            member=durand,
            role="delegate",
            training_declared=True,
            training_details="Formation de 4 h, 2025",
        )
        participation.register_participant(
            actor=coord,
            protocol=protocol,
            member=petit,
            role="delegate",
            training_declared=True,
            training_details="Formation de 4 h, 2025",
        )
        participation.acknowledge_version(actor=durand, version=protocol.current_version)
        _include_demo_patients(protocol, pharmacist=durand, nurse=petit)
        created += 1

    if "NAT-ANGINE" not in existing:
        protocol = drafting.create_protocol(
            actor=coord,
            kind=Protocol.Kind.NATIONAL,
            reference="NAT-ANGINE",
            themes=[themes["soins-non-programmes"]],
            content={**SORE_THROAT, "review_date": _review_date(20)},  # warned soon: shows the job
        )
        _publish(protocol, author=coord, reviewers=[leroy], publisher=coord)
        protocol.refresh_from_db()
        participation.register_participant(
            actor=coord, protocol=protocol, member=leroy, role="delegant"
        )
        participation.register_participant(
            actor=coord, protocol=protocol, member=durand, role="delegate", training_declared=True
        )
        created += 1

    if "CHUTE-01" not in existing:
        protocol = drafting.create_protocol(
            actor=martin,
            kind=Protocol.Kind.PLURIPROFESSIONAL,
            reference="CHUTE-01",
            themes=[themes["personnes-agees"]],
            content={**FALL_V1, "review_date": _review_date(365)},
        )
        _publish(protocol, author=martin, reviewers=[petit], publisher=martin)
        protocol.refresh_from_db()
        for member in (martin, petit, durand):
            participation.register_participant(
                actor=martin, protocol=protocol, member=member, role="participant"
            )
        participation.acknowledge_version(actor=petit, version=protocol.current_version)
        second = drafting.draft_new_version(actor=martin, protocol=protocol)
        drafting.update_draft(actor=martin, version=second, content=FALL_V2_CHANGES)
        _publish(protocol, author=martin, reviewers=[petit, durand], publisher=martin)
        protocol.refresh_from_db()
        participation.acknowledge_version(actor=martin, version=protocol.current_version)
        created += 1
    return created


# Fictitious patients (names of no one), included by the délégués of NAT-CYSTITE.
DEMO_INCLUSIONS = [
    ("pharmacist", {"birth_family_name": "Roux", "given_names": "Camille",
                    "birth_date": "1988-04-17", "sex": "F"}, 21, "completed"),
    ("pharmacist", {"birth_family_name": "Vidal", "given_names": "Léa",
                    "birth_date": "1995-09-02", "sex": "F"}, 6, ""),
    ("nurse", {"birth_family_name": "Morel", "given_names": "Anne",
               "birth_date": "1972-11-23", "sex": "F"}, 2, ""),
]  # fmt: skip


def _include_demo_patients(protocol: Protocol, *, pharmacist: Member, nurse: Member) -> None:
    today = localdate()
    for who, patient, days_ago, end_reason in DEMO_INCLUSIONS:
        actor = pharmacist if who == "pharmacist" else nurse
        day = today - timedelta(days=days_ago)
        inclusion = inclusions.include_patient(
            actor=actor,
            protocol=protocol,
            patient=patient,
            included_on=day,
            informed_on=day,
            consent=True,
        )
        if end_reason:
            inclusions.end_inclusion(
                actor=actor,
                inclusion=inclusion,
                ended_on=day + timedelta(days=3),
                reason=end_reason,
            )
