"""/healthz: whether this process serves HTTP, for container healthchecks and load balancers.

It answers without a login and asks neither the engine nor the database: an engine that is
down is the users' news (the banner on every page), not a reason for an orchestrator to
restart a portal that serves fine.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@login_not_required
@require_safe
@never_cache
def healthz(request):
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
