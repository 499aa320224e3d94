"""Shapes of directory entries in the API (ids are the public UUIDs, never database keys)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

from config.serializers import Serializer, StrictSerializer
from directory.identifiers import validate_adeli, validate_finess, validate_rpps
from directory.importer import Existing, ImportReport, RowStatus
from directory.models import Member, Membership, Organisation


class MemberRef(Serializer):
    """A member as another app's answer names them (author, participant, actor...)."""

    id = serializers.UUIDField(source="code")
    display_name = serializers.CharField()


class OrganisationRef(Serializer):
    """An organisation as another app's answer names it (sender, inbox...)."""

    id = serializers.UUIDField(source="code")
    name = serializers.CharField()


class OrganisationOutput(Serializer):
    id = serializers.UUIDField(source="code", read_only=True)
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Organisation.Kind.choices)
    finess = serializers.CharField(allow_blank=True)
    # DRF's metaclass takes declared fields off the class: this is not Field.parent.
    parent = serializers.UUIDField(  # type: ignore[assignment]
        source="parent.code", allow_null=True, default=None
    )
    address = serializers.CharField(allow_blank=True)
    commune = serializers.CharField(allow_blank=True)
    postcode = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class OrganisationInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Organisation.Kind.choices)
    finess = serializers.CharField(
        max_length=9, required=False, allow_blank=True, validators=[validate_finess]
    )
    parent = serializers.SlugRelatedField(  # type: ignore[assignment]  # not Field.parent
        slug_field="code",
        queryset=Organisation.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("id de l'organisation parente (un service appartient à un établissement)"),
    )
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    commune = serializers.CharField(max_length=120, required=False, allow_blank=True)
    postcode = serializers.RegexField(r"^\d{5}$", required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)


class MembershipOutput(Serializer):
    id = serializers.UUIDField(source="organisation.code")
    name = serializers.CharField(source="organisation.name")
    kind = serializers.CharField(source="organisation.kind")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberOutput(Serializer):
    id = serializers.UUIDField(source="code", read_only=True)
    family_name = serializers.CharField()
    given_name = serializers.CharField()
    display_name = serializers.CharField()
    civility = serializers.ChoiceField(choices=Member.Civility.choices)
    profession = serializers.ChoiceField(choices=Member.Profession.choices)
    profession_label = serializers.CharField(
        help_text="The profession as said of this person (Infirmière for a woman, when known)."
    )
    specialty = serializers.CharField(allow_blank=True)
    rpps = serializers.CharField(allow_blank=True)
    adeli = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(source="user.email", allow_blank=True)
    is_active = serializers.BooleanField(
        help_text="False only in the coordination's view of a deactivated member."
    )
    organisations = MembershipOutput(source="memberships", many=True)


class MembershipInput(StrictSerializer):
    id = serializers.SlugRelatedField(slug_field="code", queryset=Organisation.objects.all())
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)


class MembershipRoleInput(StrictSerializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberSelfInput(StrictSerializer):
    """What a member may change on their own profile."""

    specialty = serializers.CharField(max_length=120, required=False, allow_blank=True)
    rpps = serializers.CharField(
        max_length=11, required=False, allow_blank=True, validators=[validate_rpps]
    )
    adeli = serializers.CharField(
        max_length=9, required=False, allow_blank=True, validators=[validate_adeli]
    )
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)


class MemberInput(MemberSelfInput):
    """What the coordination sets when it adds or edits a member."""

    family_name = serializers.CharField(max_length=150)
    given_name = serializers.CharField(max_length=150)
    civility = serializers.ChoiceField(choices=Member.Civility.choices, required=False)
    profession = serializers.ChoiceField(choices=Member.Profession.choices)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class MemberCreateInput(MemberInput):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", max_length=150)
    organisations = MembershipInput(many=True, required=False)

    def to_service_kwargs(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data["memberships"] = [(m["id"], m["role"]) for m in data.pop("organisations", [])]
        return data


class DefaultedBooleanField(serializers.BooleanField):
    """A form field left out takes its default: DRF would read a missing checkbox as False,
    which would turn a forgotten `dry_run` into a real import."""

    default_empty_html = empty


class DirectoryImportInput(StrictSerializer):
    file = serializers.FileField(help_text="CSV, `;` or `,` separated, UTF-8 or Windows-1252.")
    dry_run = DefaultedBooleanField(required=False, default=True)
    skip_invalid = serializers.BooleanField(required=False, default=False)
    existing = serializers.ChoiceField(
        choices=Existing.choices,
        required=False,
        default=Existing.SKIP,
        help_text="A row already in the directory (same RPPS, ADELI, FINESS, login, or same "
        "names in the same structure) is left as it is (`skip`) or updated from the row "
        "(`update`); either way it is reported `present` or `updated`, never duplicated.",
    )


class DirectoryImportRowOutput(Serializer):
    line = serializers.IntegerField()
    kind = serializers.CharField()
    # Named like Field.label and Serializer.errors: right for the JSON, wrong for the stubs.
    label = serializers.CharField()  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=RowStatus.choices)
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]


class DirectoryImportReportOutput(Serializer):
    dry_run = serializers.BooleanField()
    skip_invalid = serializers.BooleanField()
    imported = serializers.BooleanField(help_text="Whether anything was committed.")
    organisations_created = serializers.IntegerField()
    members_created = serializers.IntegerField()
    existing = serializers.ChoiceField(choices=Existing.choices)
    present = serializers.IntegerField(help_text="Rows already in the directory.")
    accepted = serializers.IntegerField()
    rejected_count = serializers.SerializerMethodField()
    rows = DirectoryImportRowOutput(many=True)

    def get_rejected_count(self, report: ImportReport) -> int:
        return len(report.rejected)
