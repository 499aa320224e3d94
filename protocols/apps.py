from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    """Shared cooperation protocols and the CPTS resource guide (themes, office hours)."""

    name = "protocols"
    verbose_name = "Protocoles et guide des ressources"
