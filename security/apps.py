from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Sécurité"

    def ready(self) -> None:
        # Connects the failed-login counter of the address guard (user_login_failed).
        from security import login_guard  # noqa: F401, PLC0415
