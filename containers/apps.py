from django.apps import AppConfig


class ContainersConfig(AppConfig):
    name = "containers"

    def ready(self):
        # Logging out ends the terminals opened from that login (the signal's receiver).
        from containers import terminal_sessions  # noqa: F401
