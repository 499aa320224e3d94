from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    """Shared cooperation protocols and the CPTS resource guide (themes, office hours)."""

    name = "protocols"
    demo_loader = "protocols.demo.load_protocols"  # called by `manage.py load_demo`
    verbose_name = "Protocoles et guide des ressources"
