from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.models import AuditEntry
from dockerweb import engines


@require_GET
@permission_required("audit.view_auditentry", raise_exception=True)
def entry_list(request):
    # The activity on this engine (grants are per engine); administrators also see what
    # concerns no engine (engines added, roles granted).
    on_engine = Q(engine=engines.current_name())
    entries = AuditEntry.objects.filter(
        on_engine | Q(engine="") if request.user.is_superuser else on_engine
    )
    query = request.GET.get("q", "").strip()
    if query:
        entries = entries.filter(
            Q(username__icontains=query)
            | Q(target_name__icontains=query)
            | Q(action__icontains=query)
        )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    context = {"page": page, "query": query}
    return render(request, "audit/entry_list.html", context)
