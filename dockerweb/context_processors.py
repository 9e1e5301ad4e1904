from django.conf import settings

from dockerweb.gateway import engine_address


def portal(request):
    """What base.html needs on every page: the engine banner and the engine's address."""
    return {
        "engine_problem": getattr(request, "engine_problem", None),
        "engine_address": engine_address(),
        "log_lines_kept": settings.LOG_LINES_KEPT,
    }
