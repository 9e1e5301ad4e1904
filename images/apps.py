from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "images"

    def ready(self):
        from dockerweb.events_watcher import register_handler
        from images.live import describe_image_event

        register_handler("image", describe_image_event)
