"""Prune stopped containers and build cache: a page that lists exactly what goes and asks,
then a job that removes exactly that (dashboard/prune.py). Each start is audited."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.records import record
from dashboard import prune
from dashboard.permissions import PRUNE_BUILD_CACHE, PRUNE_CONTAINERS
from dockerweb import engines, gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.gateway import disk_usage
from dockerweb.htmx import render_page_or_partial
from jobs.models import Job
from jobs.runner import start_job

BUILD_CACHE_POLL_SECONDS = 1


def _names(request) -> dict[str, str]:
    """Container id → name, as the confirmation page showed them (for the job's output)."""
    try:
        model = engines.live_for(request)
    except gateway.EngineUnavailable:
        return {}
    found = {}
    for container_id in request.POST.getlist("container"):
        summary = model.container(container_id)
        if summary is not None:
            found[container_id] = summary.name
    return found


@require_http_methods(["GET", "POST"])
@permission_required(PRUNE_CONTAINERS, raise_exception=True)
def prune_containers(request):
    """GET: the stopped containers that will go (at most CONFIRM_MAX), their sizes as last
    measured; POST (their ids): a job removes those still stopped."""
    if request.method == "POST":
        ids = prune.confirmed_ids(request.POST.getlist("container"))
        if ids is None:
            messages.error(request, "Nothing to prune: choose stopped containers on this page.")
            return redirect("dashboard:prune-containers")
        names = _names(request)
        plural = "s" if len(ids) != 1 else ""
        job = start_job(
            kind=Job.Kind.PRUNE,
            title=f"Prune {len(ids)} stopped container{plural}",
            params={"containers": ids},
            user=request.user,
            work=prune.prune_containers_work(ids, names),
        )
        listed = ", ".join(names.get(i) or i[:12] for i in ids)
        record(
            request.user,
            "container.prune",
            target_type="container",
            target_name="stopped containers",
            detail=f"job {job.pk}: {len(ids)} confirmed: {listed}",
        )
        return redirect("jobs:detail", job.pk)
    offer = None
    q = request.GET.get("q", "").strip()[:200]
    try:
        offer = prune.stopped_offer(engines.live_for(request), q)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
    measured = disk_usage.last_summary()
    sizes = measured.summary.container_sizes if measured and measured.summary else None
    rows = []
    for container in offer.containers if offer else ():
        rows.append((container, sizes.get(container.id) if sizes is not None else None))
    known = [size for _, size in rows if size is not None]
    if len(known) < len(rows):
        disk_usage.summary_now()  # measured in the background (if not already): a reload shows them
    context = {
        "q": q,
        "offer": offer,
        "rows": rows,
        "measured": bool(known),
        "total_size": sum(known),
        "sizes_partial": len(known) < len(rows),
    }
    return render(request, "dashboard/prune_containers.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(PRUNE_BUILD_CACHE, raise_exception=True)
def prune_build_cache(request):
    """GET: the unused build-cache records and their sizes (from the shared disk-usage
    query, polled while it runs); POST (their ids): a job prunes each one."""
    if request.method == "POST":
        ids = prune.confirmed_records(request.POST.getlist("record"))
        if ids is None:
            messages.error(request, "Nothing to prune: choose build-cache records on this page.")
            return redirect("dashboard:prune-build-cache")
        plural = "s" if len(ids) != 1 else ""
        job = start_job(
            kind=Job.Kind.PRUNE,
            title=f"Prune {len(ids)} build-cache record{plural}",
            params={"build_cache": ids},
            user=request.user,
            work=prune.prune_build_cache_work(ids),
        )
        record(
            request.user,
            "build_cache.prune",
            target_type="build_cache",
            target_name="build cache",
            detail=f"job {job.pk}: {len(ids)} confirmed: {', '.join(ids)}",
        )
        return redirect("jobs:detail", job.pk)
    outcome = disk_usage.summary_now()
    context = {"pending": None, "problem": "", "records": None, "poll": BUILD_CACHE_POLL_SECONDS}
    if isinstance(outcome, disk_usage.Pending):
        context["pending"] = int(outcome.seconds)
    elif isinstance(outcome, gateway.GatewayError):
        context["problem"] = str(outcome)
    else:
        records = [r for r in outcome.summary.build_records if r.reclaimable][: prune.CONFIRM_MAX]
        context["records"] = records
        context["total"] = sum(r.size for r in records)
    return render_page_or_partial(
        request, "dashboard/prune_build_cache.html", "dashboard/_build_cache_list.html", context
    )
