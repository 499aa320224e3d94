from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    """Placeholder app: its models arrive with its own issue."""

    name = "protocols"
