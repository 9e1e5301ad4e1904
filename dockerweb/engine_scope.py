"""Which engine a request or websocket works with: the one its URL names.

`/engines/<name>/…` pages and sockets work on engine <name>: the middleware checks it exists
and that the user holds a role on it (dockerweb/engine_access.py), gives the request that
engine's URLconf (dockerweb/engine_urls.py) and makes it current for the request
(`engines.activate`: gateway calls, permissions, audit entries, jobs). Unscoped pages (log-in,
preferences, the Engines settings) work with the engine the user last used.
"""

import re

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import set_urlconf
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found, permission_denied

from dockerweb import engine_access, engines
from dockerweb.engine_specs import NAME_PATTERN
from dockerweb.engine_urls import SCOPED_FIRST_SEGMENTS, engine_prefix, urlconf_for
from dockerweb.ws_auth import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND

ENGINE_IN_PATH = re.compile(rf"^/engines/(?P<name>{NAME_PATTERN})(?=/)")
SESSION_KEY = "dockerweb_engine"


def engine_in_path(path: str) -> tuple[str, str] | None:
    """(engine name, the rest of the path) for `/engines/<name>/…`, else None."""
    match = ENGINE_IN_PATH.match(path)
    return (match["name"], path[match.end() :]) if match else None


def remembered_engine(request) -> str:
    """The engine this user last worked with, if they still may; else their first one."""
    user = request.user
    name = request.session.get(SESSION_KEY, "") if hasattr(request, "session") else ""
    if name in engines.specs() and (not user.is_authenticated or engine_access.may_use(user, name)):
        return name
    if user.is_authenticated:
        usable = engine_access.usable_engines(user)
        if usable:
            return usable[0]
    return engines.default_name()


class EngineScopeMiddleware:
    """After authentication: picks, checks and activates the request's engine."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        scoped = engine_in_path(request.path_info)
        if scoped is None:
            name = remembered_engine(request)
            first_segment = request.path_info.strip("/").split("/", 1)[0]
            if first_segment in SCOPED_FIRST_SEGMENTS and request.method in ("GET", "HEAD"):
                # A link from before engines were in URLs: the same page on the user's engine.
                query = request.META.get("QUERY_STRING", "")
                target = engine_prefix(name) + request.path_info + (f"?{query}" if query else "")
                return HttpResponseRedirect(target)
        else:
            name = scoped[0]
            if not request.user.is_authenticated:
                # Before anything about the engine: which names exist is nobody's business
                # until they log in (an unknown one would otherwise answer 404, a known 302).
                return redirect_to_login(request.get_full_path())
            if name not in engines.specs():
                return self._refuse(request, Http404(f"There is no engine named “{name}”."))
            user = request.user
            if not engine_access.may_use(user, name):
                return self._refuse(
                    request, PermissionDenied(f"You hold no role on the engine “{name}”.")
                )
            if request.session.get(SESSION_KEY) != name:
                request.session[SESSION_KEY] = name
        engine = engines.get(name)
        request.urlconf = urlconf_for(name)
        request.engine = engine
        with engines.activate(engine):
            return self.get_response(request)

    def _refuse(self, request, exc: Exception):
        """The 404 or 403 page, drawn on the engine the user may use (its links, sidebar)."""
        name = remembered_engine(request)
        request.urlconf = urlconf_for(name)
        set_urlconf(request.urlconf)
        view = page_not_found if isinstance(exc, Http404) else permission_denied
        with engines.activate(engines.get(name)):
            return view(request, exception=exc)


@require_GET
def to_engine_home(request):
    """`/`: the dashboard of the engine the user last worked with (or their first)."""
    if not engine_access.usable_engines(request.user):
        return render(request, "engines/no_engine.html", status=403)
    return HttpResponseRedirect(engine_prefix(remembered_engine(request)) + "/")


class EngineScopeASGI:
    """The same for websockets: `/engines/<name>/ws/…` is routed as `/ws/…` with engine
    <name> current for the whole connection. A socket without an engine in its path, or on an
    engine the user holds no role on, is refused before any consumer sees it."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        scoped = engine_in_path(scope.get("path", ""))
        engine = None
        if scoped is not None:
            engine = await sync_to_async(_engine_for, thread_sensitive=True)(scope, scoped[0])
        if isinstance(engine, int) or engine is None:
            await send({"type": "websocket.close", "code": engine or CLOSE_NOT_FOUND})
            return
        scope = dict(scope, path_remaining=scoped[1], engine=engine.name)
        with engines.activate(engine):
            return await self.inner(scope, receive, send)


def _engine_for(scope, name: str):
    """The engine, or the close code that refuses the socket (anonymous first, as pages do)."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return CLOSE_FORBIDDEN
    if name not in engines.specs():
        return CLOSE_NOT_FOUND
    if not engine_access.may_use(user, name):
        return CLOSE_FORBIDDEN
    return engines.get(name)
