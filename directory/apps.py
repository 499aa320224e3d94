from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Annuaire")

    def ready(self) -> None:
        from directory.selectors import remember_organisation_ids  # noqa: PLC0415
        from security.principals import PrincipalLoading, load_principals_with  # noqa: PLC0415

        # The login's member and their organisations load in one query, with the token (API)
        # or on first use (session): every request reads both (permissions, access rules).
        load_principals_with(
            PrincipalLoading(
                related="member",
                joined="memberships__organisation_id",
                remember=remember_organisation_ids,
            )
        )
