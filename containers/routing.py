from django.urls import path

from containers.consumers import ContainerLogsConsumer
from dockerweb import url_converters  # noqa: F401 - registers <container:…>

websocket_urlpatterns = [
    path(
        "ws/containers/<container:container_id>/logs/",
        ContainerLogsConsumer.as_asgi(),
        name="ws-container-logs",
    ),
]
