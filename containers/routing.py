from django.urls import path

from containers.consumers import ContainerLogsConsumer

websocket_urlpatterns = [
    path(
        "ws/containers/<str:container_id>/logs/",
        ContainerLogsConsumer.as_asgi(),
        name="ws-container-logs",
    ),
]
