from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    """Shared cooperation protocols and the CPTS resource guide (themes, office hours)."""

    name = "protocols"
    demo_loader = "protocols.demo.load_protocols"  # called by `manage.py load_demo`
    verbose_name = "Protocoles et guide des ressources"

    def ready(self) -> None:
        """The directory CSV import also reads the guide's `themes` column."""
        from directory.importer import register_column  # noqa: PLC0415 (apps are loading)
        from protocols.guide.importer import THEMES_COLUMN  # noqa: PLC0415

        register_column(THEMES_COLUMN)
