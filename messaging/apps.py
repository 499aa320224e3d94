from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Placeholder app: its models arrive with its own issue."""

    name = "messaging"
