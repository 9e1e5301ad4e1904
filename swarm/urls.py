from django.urls import path, register_converter

from swarm import views


class SwarmRefConverter:
    """A service or node id (or prefix) or a service name: letters, digits and -, no `/`
    nor `.`, so nothing else reaches the engine's URLs."""

    regex = r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SwarmRefConverter, "swarmref")

app_name = "swarm"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("services/new/", views.service_create, name="create"),
    path("services/<swarmref:service_id>/", views.service_detail, name="service"),
    path("services/<swarmref:service_id>/scale/", views.service_scale, name="scale"),
    path("services/<swarmref:service_id>/update/", views.service_update, name="update"),
    path("services/<swarmref:service_id>/rollback/", views.service_rollback, name="rollback"),
    path("services/<swarmref:service_id>/remove/", views.service_remove, name="remove"),
    path("nodes/<swarmref:node_id>/", views.node_edit, name="node"),
]
