"""The fictional CPTS of the demo: organisations and members, loaded idempotently.

Identifiers are synthetic but pass their check digits (RPPS and FINESS Luhn keys), so the
demo exercises the same validation as real data. Later capabilities add their own demo
content through `load_demo` (liaison sheets, conversations, protocols).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from directory import services
from directory.identifiers import luhn_complete
from directory.models import Member, Membership, Organisation, User

COMMUNE = "Beaulieu-sur-Loire"
POSTCODE = "45630"


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    name: str
    kind: str
    finess_body: str = ""
    parent: str = ""
    address: str = ""
    commune: str = COMMUNE
    postcode: str = POSTCODE
    phone: str = ""


@dataclass(frozen=True)
class DemoMember:
    username: str
    given_name: str
    family_name: str
    profession: str
    organisation: str
    role: str = Membership.Role.MEMBER
    rpps_body: str = ""
    specialty: str = ""
    phone: str = ""
    civility: str = ""


Profession = Member.Profession
Kind = Organisation.Kind

ORGANISATIONS = [
    DemoOrganisation("cpts", "CPTS du Val de Loire", Kind.CPTS, address="2 place de la Mairie",
                     phone="02 38 00 00 01"),
    DemoOrganisation("msp", "MSP des Tilleuls", Kind.MSP, address="14 rue des Tilleuls",
                     phone="02 38 00 00 10"),
    DemoOrganisation("cabinet", "Cabinet médical du Port", Kind.CABINET, address="3 quai du Port",
                     commune="Ousson-sur-Loire", postcode="45250", phone="02 38 00 00 20"),
    DemoOrganisation("hospital", "Centre hospitalier de Gien", Kind.HOSPITAL, "45000011",
                     address="2 avenue Jean Villejean", commune="Gien", postcode="45500",
                     phone="02 38 29 38 29"),
    DemoOrganisation("urgences", "Urgences", Kind.HOSPITAL_SERVICE, parent="hospital",
                     commune="Gien", postcode="45500", phone="02 38 29 38 00"),
    DemoOrganisation("cardiologie", "Cardiologie", Kind.HOSPITAL_SERVICE, parent="hospital",
                     commune="Gien", postcode="45500", phone="02 38 29 38 40"),
    # The expert service of tele-expertise (liaison.expertise), beside Cardiologie.
    DemoOrganisation("dermatologie", "Dermatologie", Kind.HOSPITAL_SERVICE, parent="hospital",
                     commune="Gien", postcode="45500", phone="02 38 29 38 60"),
    DemoOrganisation("medecine_interne", "Médecine interne", Kind.HOSPITAL_SERVICE,
                     parent="hospital", commune="Gien", postcode="45500",
                     phone="02 38 29 38 50"),
    DemoOrganisation("pharmacie", "Pharmacie de la Loire", Kind.PHARMACY, "45000022",
                     address="8 Grande Rue", phone="02 38 00 00 30"),
    DemoOrganisation("service_social", "Service social départemental", Kind.SOCIAL_SERVICE,
                     address="1 rue de la Solidarité", phone="02 38 00 00 40"),
]  # fmt: skip

MEMBERS = [
    DemoMember("dr.martin", "Claire", "Martin", Profession.GENERAL_PRACTITIONER, "msp",
               rpps_body="1000000001", phone="06 00 00 00 01"),
    DemoMember("dr.leroy", "Antoine", "Leroy", Profession.GENERAL_PRACTITIONER, "msp",
               rpps_body="1000000002", phone="06 00 00 00 02"),
    DemoMember("dr.bernard", "Hélène", "Bernard", Profession.GENERAL_PRACTITIONER, "cabinet",
               rpps_body="1000000003", phone="06 00 00 00 03"),
    DemoMember("ide.petit", "Julie", "Petit", Profession.NURSE, "msp", rpps_body="2000000004",
               phone="06 00 00 00 04", civility="mme"),
    DemoMember("pharma.durand", "Marc", "Durand", Profession.PHARMACIST, "pharmacie",
               rpps_body="2000000005", phone="06 00 00 00 05"),
    DemoMember("hop.cardio", "Sophie", "Lambert", Profession.SPECIALIST, "cardiologie",
               rpps_body="1000000006", specialty="Cardiologie"),
    DemoMember("hop.cardio2", "Nadia", "Garnier", Profession.MEDICAL_SECRETARY, "cardiologie"),
    DemoMember("dr.derm", "Lucie", "Dubois", Profession.SPECIALIST, "dermatologie",
               rpps_body="1000000008", specialty="Dermatologie", civility="mme"),
    DemoMember("hop.urgences", "Paul", "Rousseau", Profession.SPECIALIST, "urgences",
               rpps_body="1000000007", specialty="Médecine d'urgence"),
    DemoMember("as.moreau", "Inès", "Moreau", Profession.SOCIAL_WORKER, "service_social",
               civility="mme"),
    DemoMember("coord", "Élise", "Fontaine", Profession.COORDINATOR, "cpts",
               role=Membership.Role.ADMIN, phone="06 00 00 00 10", civility="mme"),
]  # fmt: skip


@transaction.atomic
def load_directory(*, password: str) -> dict[str, Member]:
    """Create (or leave as they are) the demo organisations and members; reset passwords."""
    organisations: dict[str, Organisation] = {}
    for spec in ORGANISATIONS:
        existing = Organisation.objects.filter(name=spec.name, kind=spec.kind).first()
        organisations[spec.key] = existing or services.create_organisation(
            actor=None,
            name=spec.name,
            kind=spec.kind,
            finess=luhn_complete(spec.finess_body) if spec.finess_body else "",
            parent=organisations[spec.parent] if spec.parent else None,
            address=spec.address,
            commune=spec.commune,
            postcode=spec.postcode,
            phone=spec.phone,
        )
    members: dict[str, Member] = {}
    for person in MEMBERS:
        user = User.objects.filter(username=person.username).first()
        if user is None:
            member = services.create_member(
                actor=None,
                username=person.username,
                email=f"{person.username}@demo.cpts-liaison.test",
                password=password,
                family_name=person.family_name,
                given_name=person.given_name,
                profession=person.profession,
                specialty=person.specialty,
                rpps=luhn_complete(person.rpps_body) if person.rpps_body else "",
                phone=person.phone,
                civility=person.civility,
                memberships=[(organisations[person.organisation], person.role)],
            )
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
            member = user.member
        members[person.username] = member
    return members
