"""The processes running in a container (docker top)."""

from django.contrib.auth.decorators import permission_required
from django.views.decorators.http import require_GET

from containers.permissions import VIEW
from containers.views import detail_page


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_processes(request, container_id):
    return detail_page(request, container_id, "processes")
