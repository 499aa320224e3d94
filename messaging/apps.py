from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Secure messaging between CPTS members (docs/messaging.md)."""

    name = "messaging"
    verbose_name = "Messagerie"
