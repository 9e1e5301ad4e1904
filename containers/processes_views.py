"""The processes running in a container (docker top), refreshed while the tab is open.

The tab's table asks again every REFRESH_SECONDS (htmx polling this same URL for its
fragment; static/js/processes.js skips the asks while the page is hidden). One engine call
per ask: `docker top` reads the container's process table, nothing is kept here.
"""

from django.contrib.auth.decorators import permission_required
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from containers.permissions import VIEW
from containers.views import detail_page
from dockerweb import gateway
from dockerweb.htmx import is_partial, render_page_or_partial

REFRESH_SECONDS = 3


def processes_context(container_id: str) -> dict:
    """The table, or why there is none: `not_running`, `removed` or `engine_error`."""
    try:
        return {"table": gateway.processes.top(container_id)}
    except gateway.NotFound:
        return {"removed": True}
    except gateway.Conflict:
        return {"not_running": True}
    except gateway.GatewayError as exc:
        return {"engine_error": str(exc)}


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_processes(request, container_id):
    context = {"refresh_seconds": REFRESH_SECONDS, "container_ref": container_id}
    context.update(processes_context(container_id))
    if is_partial(request):
        # The polled fragment alone: no inspect, one engine call.
        return render_page_or_partial(
            request, "containers/detail_processes.html", "containers/_processes.html", context
        )
    response = detail_page(request, container_id, "processes", context)
    patch_vary_headers(response, ["HX-Request"])
    return response
