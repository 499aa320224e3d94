from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The agenda of the CPTS: events, registrations, attendance and surveys (docs/events.md)."""

    name = "events"
    demo_loader = "events.demo.load_events"  # called by `manage.py load_demo`
