from django.urls import path

from volumes import views

app_name = "volumes"
urlpatterns = [
    path("", views.volume_list, name="list"),
    path("new/", views.create, name="create"),
    path("prune/", views.prune, name="prune"),
    path("<str:volume_name>/remove/", views.remove, name="remove"),
]
