from django.urls import path

from networks import views

app_name = "networks"
urlpatterns = [
    path("", views.network_list, name="list"),
    path("new/", views.network_create, name="create"),
    path("<str:network_id>/", views.network_detail, name="detail"),
    path("<str:network_id>/connect/", views.connect, name="connect"),
    path("<str:network_id>/disconnect/", views.disconnect, name="disconnect"),
    path("<str:network_id>/remove/", views.remove, name="remove"),
]
