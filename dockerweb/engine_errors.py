"""Turning gateway errors into what a page shows, never into a 500."""

from django.contrib import messages

from dockerweb.gateway import EngineUnavailable, GatewayError


def report_engine_error(request, exc: GatewayError) -> None:
    """Show `exc` on the page being rendered: the engine banner, or an error message."""
    if isinstance(exc, EngineUnavailable):
        request.engine_problem = exc
    else:
        messages.error(request, str(exc))
