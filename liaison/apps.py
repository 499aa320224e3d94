from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    """Placeholder app: its models arrive with its own issue."""

    name = "liaison"
