"""The dashboard: the engine seen whole. The page itself costs no engine call: counts come
from the live model (and stay live through the page's socket), and the parts that need the
engine (its facts, the top containers, disk usage) arrive afterwards as fragments, each
with its own wait, so a slow or busy engine never holds the page."""

import time

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import facts as engine_facts
from dashboard.permissions import VIEW_CONTAINERS, view_any_required
from dashboard.sampler import IDLE_SECONDS, sampler_for
from dockerweb import engines, gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.gateway import disk_usage

# How often the top containers refresh while the page is open, and how soon the first
# figures are asked for again while none are in yet.
TOP_POLL_SECONDS = 10
TOP_FIRST_POLL_SECONDS = 2
DISK_POLL_SECONDS = 1
COUNTED = ("images", "volumes", "networks")
KIND_PERMISSIONS = {
    "images": "images.view_image",
    "volumes": "volumes.view_volume",
    "networks": "networks.view_network",
}


@require_GET
@view_any_required
def home(request):
    engine = engines.current()
    counts = None
    try:
        counts = engines.live_for(request).counts()
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
    kept = engine_facts.kept(engine)
    context = {
        "counts": counts,
        "see_containers": request.user.has_perm(VIEW_CONTAINERS),
        "kinds": [
            (kind, counts[kind] if counts else None)
            for kind in COUNTED
            if request.user.has_perm(KIND_PERMISSIONS[kind])
        ],
        # Kept facts are shown at once; otherwise they load after the page.
        "facts": kept if isinstance(kept, gateway.system.EngineFacts) else None,
    }
    return render(request, "dashboard/home.html", context)


@require_GET
@view_any_required
def facts_part(request):
    """The engine's facts; waits for docker info (shared with every other viewer)."""
    engine = engines.current()
    context = {"facts": None, "problem": ""}
    try:
        context["facts"] = engine_facts.facts(engine)
    except gateway.GatewayError as exc:
        context["problem"] = str(exc)
    return render(request, "dashboard/_facts.html", context)


@require_GET
@view_any_required
def top_part(request):
    """The top containers by CPU and memory; asking keeps the sampler going."""
    if not request.user.has_perm(VIEW_CONTAINERS):
        raise PermissionDenied
    engine = engines.current()
    sampler = sampler_for(engine)
    sampler.touch()
    now = time.monotonic()
    by_cpu, by_memory = sampler.top("cpu"), sampler.top("memory")
    context = {
        "by_cpu": [(m, m.age(now)) for m in by_cpu],
        "by_memory": [(m, m.age(now)) for m in by_memory],
        "running": sampler.running_count,
        "rounds": sampler.rounds,
        "per_round": settings.DASHBOARD_SAMPLE_MAX,
        "round_seconds": settings.DASHBOARD_SAMPLE_SECONDS,
        "poll": TOP_POLL_SECONDS if by_memory or sampler.rounds else TOP_FIRST_POLL_SECONDS,
        "idle_minutes": int(IDLE_SECONDS // 60),
        "engine_up": engine.sync.status == "up",
    }
    return render(request, "dashboard/_top.html", context)


@require_GET
@view_any_required
def disk_part(request):
    """Disk usage, never waited for: the answer when there is one, else how long the
    shared query has been under way (the fragment asks again in a second)."""
    outcome = disk_usage.summary_now()
    context = {"pending": None, "problem": "", "usage": None, "poll": DISK_POLL_SECONDS}
    if isinstance(outcome, disk_usage.Pending):
        context["pending"] = int(outcome.seconds)
        context["timeout"] = int(settings.DF_TIMEOUT)
    elif isinstance(outcome, gateway.GatewayError):
        context["problem"] = str(outcome)
    else:
        context["usage"] = outcome.summary
        context["age"] = int(time.monotonic() - outcome.taken_at)
        context["rows"] = _disk_rows(request.user, outcome.summary)
        context["cache_seconds"] = int(settings.DF_CACHE_SECONDS)
    return render(request, "dashboard/_disk.html", context)


_PARTS = {
    "images": ("Images", "images:prune", "Prune dangling images", "images.remove_image"),
    "containers": (
        "Containers",
        "dashboard:prune-containers",
        "Prune stopped containers",
        "containers.remove_container",
    ),
    "volumes": ("Local volumes", "volumes:prune", "Prune unused volumes", "volumes.remove_volume"),
    "build_cache": (
        "Build cache",
        "dashboard:prune-build-cache",
        "Prune build cache",
        "images.remove_image",
    ),
}


def _disk_rows(user, usage) -> list[dict]:
    largest = max((part.size for _, part in usage.parts), default=0) or 1
    rows = []
    for key, part in usage.parts:
        label, prune_url, prune_label, permission = _PARTS[key]
        rows.append(
            {
                "key": key,
                "label": label,
                "part": part,
                "largest": largest,
                # Something to prune (a created container measures 0 bytes, yet can go).
                "prune_url": prune_url
                if user.has_perm(permission) and (part.reclaimable or part.count > part.active)
                else "",
                "prune_label": prune_label,
            }
        )
    return rows
