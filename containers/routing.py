from django.urls import path

from containers.consumers import ContainerLogsConsumer
from containers.stats_consumer import ContainerStatsConsumer
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
]
