"""What a running container costs, live: CPU, memory, network, block I/O.

The page holds the charts; the numbers come over /ws/containers/<id>/stats/ (one engine
stream per container however many watch: containers/stats_fanout.py).
"""

from django.contrib.auth.decorators import permission_required
from django.views.decorators.http import require_GET

from containers.permissions import VIEW
from containers.stats_fanout import KEPT, STREAMED_STATES
from containers.views import detail_page


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_stats(request, container_id):
    return detail_page(
        request,
        container_id,
        "stats",
        {"streamed_states": STREAMED_STATES, "stats_window": KEPT},
    )
