from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Annuaire")

    def ready(self) -> None:
        from directory.selectors import remember_organisation_ids  # noqa: PLC0415
        from security.principals import PrincipalLoading, load_principals_with  # noqa: PLC0415

        # The token lookup loads the member and their organisations with the token and its
        # user: every API request reads both next (permissions, then the access rules).
        load_principals_with(
            PrincipalLoading(
                related="member",
                joined="member__memberships__organisation_id",
                remember=remember_organisation_ids,
            )
        )
