from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Secure messaging between CPTS members (docs/messaging.md)."""

    name = "messaging"
    demo_loader = "messaging.demo.load_conversations"  # called by `manage.py load_demo`
    verbose_name = "Messagerie"
