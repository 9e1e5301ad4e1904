from django.urls import path

from jobs.consumers import JobConsumer, JobListConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobListConsumer.as_asgi(), name="ws-jobs"),
    path("ws/jobs/<uuid:job_id>/", JobConsumer.as_asgi(), name="ws-job"),
]
