from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Sécurité"

    def ready(self) -> None:
        # Connects the failed-login counter of the address guard (user_login_failed), and the
        # second factor and form drafts at login and logout (user_logged_in, user_logged_out).
        from security import login_guard, signals  # noqa: F401, PLC0415
