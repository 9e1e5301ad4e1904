import time

from django.conf import settings

from dockerweb.gateway import engine_address

RENDER_MARGIN = 2.0


def portal(request):
    """What base.html needs on every page: the engine banner and the engine's address."""
    return {
        "engine_problem": getattr(request, "engine_problem", None),
        "engine_address": engine_address(),
        "log_lines_kept": settings.LOG_LINES_KEPT,
        # Lets the live socket replay what changed between reading the engine for this page
        # and subscribing; the margin covers the engine calls made before rendering.
        "rendered_at": f"{time.time() - RENDER_MARGIN:.3f}",
    }
