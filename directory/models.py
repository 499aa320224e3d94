"""The CPTS directory: who works where, with which profession and role."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from directory.identifiers import validate_adeli, validate_finess, validate_rpps
from security.text import fold


def _with_folded(update_fields: object, sources: set[str], folded: str) -> object:
    """The update_fields of a save, plus the folded column when a field it comes from is saved."""
    if update_fields is None:
        return None
    fields = list(update_fields)  # type: ignore[call-overload]
    if sources & set(fields) and folded not in fields:
        fields.append(folded)
    return fields


class TimestampedModel(models.Model):
    """Every row knows when it was created and last changed."""

    created_at = models.DateTimeField(default=now, db_index=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    """The login account. The professional profile is `Member`; a user has at most one."""

    # The interface language the person chose on their account page, applied at each login.
    language = models.CharField(_("langue"), max_length=8, choices=settings.LANGUAGES, default="fr")

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")


class Organisation(TimestampedModel):
    class Kind(models.TextChoices):
        CPTS = "cpts", _("CPTS")
        MSP = "msp", _("Maison de santé pluriprofessionnelle")
        CABINET = "cabinet", _("Cabinet")
        HOSPITAL = "hospital", _("Établissement de santé")
        HOSPITAL_SERVICE = "hospital_service", _("Service hospitalier")
        PHARMACY = "pharmacy", _("Pharmacie")
        LABORATORY = "laboratory", _("Laboratoire")
        SOCIAL_SERVICE = "social_service", _("Service social")
        MEDICO_SOCIAL = "medico_social", _("Structure médico-sociale")
        OTHER = "other", _("Autre")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, db_index=True)
    finess = models.CharField(
        _("FINESS"), max_length=9, blank=True, default="", validators=[validate_finess]
    )
    parent = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("rattachement"),
    )
    address = models.CharField(_("adresse"), max_length=300, blank=True, default="")
    commune = models.CharField(_("commune"), max_length=120, blank=True, default="", db_index=True)
    postcode = models.CharField(_("code postal"), max_length=5, blank=True, default="")
    phone = models.CharField(_("téléphone"), max_length=30, blank=True, default="")
    email = models.EmailField(_("e-mail"), blank=True, default="")
    # The name, lower case without accents: the directory search is accent- and case-blind
    # on every database ("hopital" finds "Hôpital"), kept by save().
    name_folded = models.CharField(max_length=200, blank=True, default="", editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        constraints = [
            models.UniqueConstraint(
                fields=["finess"],
                condition=~Q(finess=""),
                name="organisation_unique_finess",
                violation_error_code="unique",  # reported on the field, not as a global error
                violation_error_message=_("Ce numéro FINESS est déjà enregistré."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="hospital_service") | Q(parent__isnull=False),
                name="organisation_service_has_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name_folded = fold(self.name)
        kwargs["update_fields"] = _with_folded(kwargs.get("update_fields"), {"name"}, "name_folded")
        super().save(*args, **kwargs)


class Member(TimestampedModel):
    """A professional of the CPTS: the profile behind a login."""

    class Civility(models.TextChoices):
        UNKNOWN = "", _("Non renseignée")
        WOMAN = "mme", _("Madame")
        MAN = "m", _("Monsieur")

    class Profession(models.TextChoices):
        GENERAL_PRACTITIONER = "medecin_generaliste", _("Médecin généraliste")
        SPECIALIST = "medecin_specialiste", _("Médecin spécialiste")
        NURSE = "infirmier", _("Infirmier")
        PHARMACIST = "pharmacien", _("Pharmacien")
        PHYSIOTHERAPIST = "masseur_kinesitherapeute", _("Masseur-kinésithérapeute")
        MIDWIFE = "sage_femme", _("Sage-femme")
        SPEECH_THERAPIST = "orthophoniste", _("Orthophoniste")
        DENTIST = "chirurgien_dentiste", _("Chirurgien-dentiste")
        SOCIAL_WORKER = "assistant_service_social", _("Assistant de service social")
        MEDICAL_SECRETARY = "secretaire_medicale", _("Secrétaire médicale")
        COORDINATOR = "coordinateur", _("Coordinateur")
        OTHER = "other", _("Autre")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(User, models.CASCADE, related_name="member")
    family_name = models.CharField(_("nom"), max_length=150)
    given_name = models.CharField(_("prénom"), max_length=150)
    profession = models.CharField(
        _("profession"), max_length=32, choices=Profession.choices, db_index=True
    )
    specialty = models.CharField(_("spécialité"), max_length=120, blank=True, default="")
    rpps = models.CharField(
        _("RPPS"), max_length=11, blank=True, default="", validators=[validate_rpps]
    )
    adeli = models.CharField(
        _("ADELI"), max_length=9, blank=True, default="", validators=[validate_adeli]
    )
    phone = models.CharField(_("téléphone"), max_length=30, blank=True, default="")
    civility = models.CharField(
        _("civilité"), max_length=3, choices=Civility.choices, blank=True, default=""
    )
    is_active = models.BooleanField(_("actif"), default=True)
    # A member with an RPPS may be held to Pro Santé Connect by the coordinator: the password
    # + TOTP login is then refused (directory/psc/, AUTH_METHODS for the whole site).
    password_login_allowed = models.BooleanField(
        _("connexion par mot de passe autorisée"),
        default=True,
        help_text=_(
            "Décochez pour n'autoriser que Pro Santé Connect (membres ayant un numéro RPPS)."
        ),
    )
    # Given and family names, lower case without accents ("helene" finds Hélène), kept by save().
    search_folded = models.CharField(max_length=301, blank=True, default="", editable=False)
    # The Idempotency-Key (API) or form key (pages) of the request that added the member: a
    # retry or a double click finds the member instead of failing on a taken username.
    creation_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    organisations: models.ManyToManyField[Organisation, Membership] = models.ManyToManyField(
        Organisation, through="Membership", related_name="members"
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        verbose_name = _("membre")
        constraints = [
            models.UniqueConstraint(
                fields=["rpps"],
                condition=~Q(rpps=""),
                name="member_unique_rpps",
                violation_error_code="unique",
                violation_error_message=_("Ce numéro RPPS est déjà enregistré."),
            ),
            models.UniqueConstraint(
                fields=["adeli"],
                condition=~Q(adeli=""),
                name="member_unique_adeli",
                violation_error_code="unique",
                violation_error_message=_("Ce numéro ADELI est déjà enregistré."),
            ),
            models.UniqueConstraint(
                fields=["creation_key"],
                condition=~Q(creation_key=""),
                name="member_unique_creation_key",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_folded = fold(f"{self.given_name} {self.family_name}")
        kwargs["update_fields"] = _with_folded(
            kwargs.get("update_fields"), {"given_name", "family_name"}, "search_folded"
        )
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def profession_label(self) -> str:
        """The profession as said of this person: "Infirmière" for a woman, when known."""
        if self.civility == self.Civility.WOMAN and self.profession in FEMININE_PROFESSIONS:
            return str(FEMININE_PROFESSIONS[self.profession])
        return str(self.get_profession_display())


FEMININE_PROFESSIONS: dict[str, Any] = {
    Member.Profession.NURSE: _("Infirmière"),
    Member.Profession.PHARMACIST: _("Pharmacienne"),
    Member.Profession.PHYSIOTHERAPIST: _("Masseuse-kinésithérapeute"),
    Member.Profession.DENTIST: _("Chirurgienne-dentiste"),
    Member.Profession.SOCIAL_WORKER: _("Assistante de service social"),
    Member.Profession.COORDINATOR: _("Coordinatrice"),
}


class Membership(TimestampedModel):
    class Role(models.TextChoices):
        MEMBER = "member", _("Membre")
        ADMIN = "admin", _("Administrateur")

    member = models.ForeignKey(Member, models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        verbose_name = _("appartenance")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "organisation"], name="membership_unique_member_organisation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.organisation_id} ({self.role})"


class ProfessionMismatch(TimestampedModel):
    """What Pro Santé Connect said of a member's profession, when it differs from the directory.

    PSC's answer comes from the RPPS, the national register; the directory was typed by the
    coordinator. Neither is overwritten: the difference is kept here and shown to the
    coordinator on the member's page, who corrects whichever is wrong. One row per member,
    refreshed at each PSC login that still disagrees, deleted when they agree again.
    """

    member = models.OneToOneField(Member, models.CASCADE, related_name="profession_mismatch")
    # The directory profession PSC's codes map to (Member.Profession), "" if none does.
    reported_profession = models.CharField(max_length=32, blank=True, default="")
    # PSC's own codes, e.g. "10 / SM54" (profession / savoir-faire), for the coordinator.
    reported_codes = models.CharField(max_length=120)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("écart de profession signalé par Pro Santé Connect")

    def __str__(self) -> str:
        return f"{self.member}: {self.reported_codes}"
