from django.apps import AppConfig


class VolumesConfig(AppConfig):
    name = "volumes"

    def ready(self):
        from dockerweb.events_watcher import register_handler
        from volumes.live import describe_volume_event

        register_handler("volume", describe_volume_event)
