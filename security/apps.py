from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Sécurité"

    def ready(self) -> None:
        # Connects the failed-login counter of the address guard (user_login_failed), and the
        # second factor and form drafts at login and logout (user_logged_in, user_logged_out).
        # Accent-blind searches (security.text.Fold) on SQLite, the demo's and tests' database.
        from django.db.backends.signals import connection_created  # noqa: PLC0415

        from security import login_guard, signals  # noqa: F401, PLC0415
        from security.text import register_sqlite_fold  # noqa: PLC0415

        connection_created.connect(register_sqlite_fold, dispatch_uid="security.text.fold")
