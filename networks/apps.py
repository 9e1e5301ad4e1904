from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "networks"

    def ready(self):
        from dockerweb.events_watcher import register_handler
        from networks.live import describe_network_event

        register_handler("network", describe_network_event)
