from django.urls import path, register_converter

from containers import (
    processes_views,
    run_cards,
    settings_views,
    stats_views,
    terminal_views,
    views,
)
from dockerweb import url_converters  # noqa: F401 - registers <container:…>


class ActionConverter:
    """One of the lifecycle verbs: anything else is a 404 before the engine is asked."""

    regex = "|".join(views.ACTIONS)

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ActionConverter, "action")

app_name = "containers"
urlpatterns = [
    path("", views.container_list, name="list"),
    path("sidebar/", views.sidebar, name="sidebar"),
    path("new/", run_cards.new_container, name="run"),
    path("new/cards/registries/", run_cards.registry_cards, name="run-cards-registries"),
    path("new/cards/hub/", run_cards.hub_cards, name="run-cards-hub"),
    path("new/create/", run_cards.create_from_card, name="run-create"),
    path("new/advanced/", views.container_run, name="run-advanced"),
    path("<container:container_id>/", views.container_logs, name="logs"),
    path("<container:container_id>/overview/", views.container_overview, name="overview"),
    path("<container:container_id>/inspect/", views.container_inspect, name="inspect"),
    path("<container:container_id>/header/", views.container_header, name="header"),
    path("<container:container_id>/terminal/", terminal_views.container_terminal, name="terminal"),
    path("<container:container_id>/stats/", stats_views.container_stats, name="stats"),
    path(
        "<container:container_id>/processes/",
        processes_views.container_processes,
        name="processes",
    ),
    path("<container:container_id>/logs/download/", views.logs_download, name="logs-download"),
    path("<container:container_id>/remove/", views.container_remove, name="remove"),
    path(
        "<container:container_id>/settings/",
        settings_views.container_settings,
        name="settings",
    ),
    path("<container:container_id>/<action:action>/", views.container_action, name="action"),
]
