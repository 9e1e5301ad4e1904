from django.urls import path

from swarm import urls  # noqa: F401 - registers <swarmref:…>
from swarm.consumers import ServiceLogsConsumer, SwarmEventsConsumer

websocket_urlpatterns = [
    path("ws/swarm/events/", SwarmEventsConsumer.as_asgi(), name="ws-swarm-events"),
    path(
        "ws/swarm/services/<swarmref:service_id>/logs/",
        ServiceLogsConsumer.as_asgi(),
        name="ws-swarm-service-logs",
    ),
]
