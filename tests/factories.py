"""factory_boy factories: French, fake, and with identifiers that pass their check digits."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from directory.identifiers import luhn_complete
from directory.models import Member, Membership, Organisation, User


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Structure {n}")
    kind = Organisation.Kind.MSP
    commune = "Beaulieu-sur-Loire"
    postcode = "45630"


class HospitalServiceFactory(OrganisationFactory):
    kind = Organisation.Kind.HOSPITAL_SERVICE
    parent = factory.SubFactory(OrganisationFactory, kind=Organisation.Kind.HOSPITAL)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("secret")


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    family_name = factory.Faker("last_name", locale="fr_FR")
    given_name = factory.Faker("first_name", locale="fr_FR")
    profession = Member.Profession.GENERAL_PRACTITIONER
    rpps = factory.Sequence(lambda n: luhn_complete(f"9{n:09d}"))


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    member = factory.SubFactory(MemberFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Membership.Role.MEMBER


def member_in(
    organisation: Organisation, role: str = Membership.Role.MEMBER, **kwargs: object
) -> Member:
    """A member working in `organisation`."""
    member = MemberFactory(**kwargs)
    MembershipFactory(member=member, organisation=organisation, role=role)
    return member
