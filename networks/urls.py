from django.urls import path

from dockerweb import url_converters  # noqa: F401 - registers <network:…>
from networks import views

app_name = "networks"
urlpatterns = [
    path("", views.network_list, name="list"),
    path("new/", views.network_create, name="create"),
    path("<network:network_id>/", views.network_detail, name="detail"),
    path("<network:network_id>/connect/", views.connect, name="connect"),
    path("<network:network_id>/disconnect/", views.disconnect, name="disconnect"),
    path("<network:network_id>/remove/", views.remove, name="remove"),
]
