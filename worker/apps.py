from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """Background work. In INSTALLED_APPS so that Celery's autodiscovery finds worker/tasks.py."""

    name = "worker"
    verbose_name = "Tâches de fond"
