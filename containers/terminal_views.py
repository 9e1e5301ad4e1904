"""A shell in a running container (Kitematic's Exec): xterm.js over a websocket.

The page asks the same judgement as the socket (host_access.check_terminal): who may not
have a terminal here is told why, and the page opens no socket.
"""

from django.contrib.auth.decorators import permission_required
from django.views.decorators.http import require_GET

from containers.permissions import VIEW
from containers.views import detail_page
from dockerweb import gateway, host_access


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_terminal(request, container_id):
    return detail_page(request, container_id, "terminal", _terminal_context(request, container_id))


def _terminal_context(request, container_id: str) -> dict:
    try:
        container = gateway.containers.inspect_container(container_id)
        host_access.check_terminal(request.user, container)
    except gateway.GatewayError:
        return {}  # detail_page reads the container again and says what is wrong
    except host_access.Refused as refused:
        return {"terminal_refusal": str(refused)}
    return {"terminal_allowed": True}
