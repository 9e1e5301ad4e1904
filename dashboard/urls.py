from django.urls import path

from dashboard import prune_views, views

app_name = "dashboard"
urlpatterns = [
    path("facts/", views.facts_part, name="facts"),
    path("top/", views.top_part, name="top"),
    path("disk/", views.disk_part, name="disk"),
    path("prune/containers/", prune_views.prune_containers, name="prune-containers"),
    path("prune/build-cache/", prune_views.prune_build_cache, name="prune-build-cache"),
]
