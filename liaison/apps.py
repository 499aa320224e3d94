from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    """Liaison sheets between town and hospital, as a closed loop (docs/liaison.md)."""

    name = "liaison"
    demo_loader = "liaison.demo.load_sheets"  # called by `manage.py load_demo`
