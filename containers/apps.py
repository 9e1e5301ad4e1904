from django.apps import AppConfig


class ContainersConfig(AppConfig):
    name = "containers"

    def ready(self):
        from containers.live import describe_container_event
        from dockerweb.events_watcher import register_handler

        register_handler("container", describe_container_event)
