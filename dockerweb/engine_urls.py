"""The engine in every URL: `/engines/<name>/containers/…`, `/engines/<name>/ws/live/`.

Each engine gets a URLconf of its own (a module object made here, as path-based multi-tenant
Django projects do): the portal's unscoped routes (log-in, admin, preferences, the Engines
settings) plus every engine-scoped route under the literal prefix `engines/<name>/`. The
middleware (dockerweb/engine_scope.py) gives a request its engine's URLconf, so `reverse()`
and `{% url %}` name that engine in every link without any view or template saying so, and a
link copied from a page opens the same engine for whoever it is shared with.

ROOT_URLCONF (dockerweb/urls.py) is the default engine's: what `reverse()` gives outside a
request (tests, management commands).
"""

import threading
import types

from django.urls import URLPattern, URLResolver, include, path

# The routes that live on an engine: (prefix, what it includes). "" is the engine's home.
ENGINE_SECTIONS: list[tuple[str, object]] = [
    ("dashboard/", "dashboard.urls"),
    ("containers/", "containers.urls"),
    ("images/", "images.urls"),
    ("volumes/", "volumes.urls"),
    ("networks/", "networks.urls"),
    ("swarm/", "swarm.urls"),
    ("jobs/", "jobs.urls"),
    ("audit/", "audit.urls"),
]
# First path segments of engine-scoped pages: an old unscoped link (/containers/…) is sent on
# to the same page on the user's engine.
SCOPED_FIRST_SEGMENTS = frozenset(prefix.rstrip("/") for prefix, _ in ENGINE_SECTIONS)


def engine_patterns() -> list[URLPattern | URLResolver]:
    from dashboard.views import home

    return [
        path("", home, name="home"),
        *(path(prefix, include(target)) for prefix, target in ENGINE_SECTIONS),
    ]


def unscoped_patterns() -> list[URLPattern | URLResolver]:
    from django.contrib import admin
    from django.contrib.auth import views as auth_views

    from dockerweb.engine_scope import to_engine_home
    from dockerweb.health import healthz

    return [
        path("", to_engine_home, name="portal-home"),
        path(
            "login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"
        ),
        path("logout/", auth_views.LogoutView.as_view(), name="logout"),
        path("preferences/", include("preferences.urls")),
        path("settings/engines/", include("engines.urls")),
        path("admin/", admin.site.urls),
        # Unauthenticated liveness answer for healthchecks (dockerweb/health.py).
        path("healthz", healthz, name="healthz"),
    ]


def patterns_for(name: str) -> list[URLPattern | URLResolver]:
    return [*unscoped_patterns(), path(f"engines/{name}/", include(engine_patterns()))]


_lock = threading.Lock()
_urlconfs: dict[str, types.ModuleType] = {}


def urlconf_for(name: str) -> types.ModuleType:
    """The URLconf of engine `name` (made once per process; Django caches its resolver)."""
    with _lock:
        urlconf = _urlconfs.get(name)
        if urlconf is None:
            urlconf = types.ModuleType(f"dockerweb.engine_urls.{name}")
            urlconf.urlpatterns = patterns_for(name)
            _urlconfs[name] = urlconf
        return urlconf


def engine_prefix(name: str) -> str:
    """`/engines/<name>`: what the engine's page and socket paths start with."""
    return f"/engines/{name}"
