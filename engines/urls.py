from django.urls import path

from dockerweb import url_converters  # noqa: F401 - registers <engine_slug:…>
from engines import views

app_name = "engines"
urlpatterns = [
    path("", views.engine_list, name="list"),
    path("health/", views.engine_health, name="health"),
    path("new/", views.add, name="add"),
    path("<engine_slug:engine_name>/", views.detail, name="detail"),
    path("<engine_slug:engine_name>/remove/", views.remove, name="remove"),
    path("<engine_slug:engine_name>/access/", views.grant, name="grant"),
    path("<engine_slug:engine_name>/access/<int:grant_id>/remove/", views.revoke, name="revoke"),
]
