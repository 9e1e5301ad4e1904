from django.urls import path

from containers.consumers import ContainerLogsConsumer
from containers.stats_consumer import ContainerStatsConsumer
from containers.terminal import TerminalConsumer
from dockerweb import url_converters  # noqa: F401 - registers <container:…>

websocket_urlpatterns = [
    path(
        "ws/containers/<container:container_id>/logs/",
        ContainerLogsConsumer.as_asgi(),
        name="ws-container-logs",
    ),
    path(
        "ws/containers/<container:container_id>/stats/",
        ContainerStatsConsumer.as_asgi(),
        name="ws-container-stats",
    ),
    path(
        "ws/containers/<container:container_id>/terminal/",
        TerminalConsumer.as_asgi(),
        name="ws-container-terminal",
    ),
]
