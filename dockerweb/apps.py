from django.apps import AppConfig


class DockerwebConfig(AppConfig):
    name = "dockerweb"
    verbose_name = "dockerweb"
