from django.urls import path

from dockerweb import url_converters  # noqa: F401 - registers <swarmref:…>
from swarm import views

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
