from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """Background work. In INSTALLED_APPS so that Celery's autodiscovery finds worker/tasks.py."""

    name = "worker"
    demo_loader = "worker.demo.load_notifications"  # called by `manage.py load_demo`
    verbose_name = "Tâches de fond"
