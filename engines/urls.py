from django.urls import path, register_converter

from dockerweb.engine_specs import NAME_PATTERN
from engines import views


class EngineNameConverter:
    """An engine's name (a slug): anything else is a 404 before any lookup."""

    regex = NAME_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# Its own converter name: the engine-scoped URLs (/engines/<name>/…) have theirs.
register_converter(EngineNameConverter, "engine_slug")

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
