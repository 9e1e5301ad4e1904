"""/healthz: whether this process serves HTTP, for container healthchecks and load balancers.

It answers without a login and asks neither the engine nor the database: an engine that is
down is the users' news (the banner on every page), not a reason for an orchestrator to
restart a portal that serves fine. So a GET is answered by `answer_healthz`, placed before
the session, host, authentication and engine middleware (which may look up stored engines in
the database); the route itself stays for `reverse()`, the route walks of the tests, and to
refuse every other method.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

PATH = "/healthz"


@login_not_required
@require_safe
@never_cache
def healthz(request):
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def answer_healthz(get_response):
    """Middleware: GET/HEAD /healthz answered at once; everything else goes on."""

    def middleware(request):
        if request.path_info == PATH and request.method in ("GET", "HEAD"):
            return healthz(request)
        return get_response(request)

    return middleware
