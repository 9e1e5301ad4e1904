from django.conf import settings
from django.utils.functional import SimpleLazyObject

from dockerweb import engine_switcher, engines, gateway, sidebar
from dockerweb.engine_urls import engine_prefix


def portal(request):
    """What base.html needs on every page: the engine banner, its address, the sidebar.

    The sidebar and the banner are computed only if the template shows them (a partial
    doesn't), from the live model: no engine call.
    """
    engine = engines.current()
    return {
        "engine_problem": SimpleLazyObject(lambda: _engine_problem(request)),
        "engine_name": engine.name,
        "engine_address": engine.address,
        # What the engine's page and socket paths start with: /engines/<name>.
        "engine_prefix": engine_prefix(engine.name),
        "engine_switcher": SimpleLazyObject(lambda: engine_switcher.choices(request)),
        "log_lines_kept": settings.LOG_LINES_KEPT,
        "sidebar": SimpleLazyObject(lambda: _sidebar(request)),
        # The model's version this page was rendered from: the live socket tells the page to
        # fetch its lists again if the model moved on before the socket joined.
        "model_version": SimpleLazyObject(lambda: str(engine.model.version)),
    }


def _engine_problem(request):
    problem = getattr(request, "engine_problem", None)
    if problem is not None:
        return problem
    try:
        engines.live_for(request)
    except gateway.EngineUnavailable as exc:
        request.engine_problem = exc
        return exc
    return None


def _sidebar(request):
    if not request.user.has_perm(sidebar.VIEW):
        return None
    return sidebar.build(request, selected=getattr(request, "selected_container", ""))
