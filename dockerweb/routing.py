"""Every websocket route of the portal, in one list (the security test walks it)."""

from django.urls import path

from containers.routing import websocket_urlpatterns as container_routes
from dockerweb.consumers import LiveStateConsumer
from jobs.routing import websocket_urlpatterns as job_routes
from swarm.routing import websocket_urlpatterns as swarm_routes

websocket_urlpatterns = [
    path("ws/live/", LiveStateConsumer.as_asgi(), name="ws-live"),
    *container_routes,
    *job_routes,
    *swarm_routes,
]
