"""The sizes the volume pages leave as "measuring…", filled in after the page.

The pages never wait for the engine's disk-usage query (slow on a big or busy engine): each
size is a placeholder, and the page asks this view once for all of them (htmx, on load). The
answer is a fragment of out-of-band swaps, one per size. This view may wait for the query,
up to DF_TIMEOUT, sharing it with every other viewer (dockerweb.gateway.disk_usage); past
that, or on an engine error, each size says "size unknown" and why.
"""

import re
from dataclasses import dataclass

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dockerweb import gateway
from dockerweb.confirmed_prune import CONFIRM_MAX
from dockerweb.url_converters import VolumeNameConverter
from volumes.views import VIEW, listed, prunable

# The remove page names its one volume; more than this many names is not a page of ours.
MAX_NAMED = 50
_NAME_RE = re.compile(VolumeNameConverter.regex)


@dataclass(frozen=True, slots=True)
class Size:
    name: str
    bytes: int | None  # None: unknown, see problem
    problem: str = ""


def _shown(request) -> tuple[list[str], bool]:
    """The volumes whose sizes the asking page shows, and whether it shows their total:
    ?volume=NAME (the remove page), ?unused=1 (prune), else the list for ?q=.

    Raises GatewayError (listing), BadRequest."""
    named = request.GET.getlist("volume")
    if named:
        if len(named) > MAX_NAMED or not all(_NAME_RE.fullmatch(n) for n in named):
            raise BadRequest("Not volume names.")
        return list(dict.fromkeys(named)), False
    if request.GET.get("unused"):
        # Those the prune page lists: its total is what its ticked boxes delete.
        unused = prunable(request, request.GET.get("q", "").strip()[:200])[:CONFIRM_MAX]
        return [volume.name for volume in unused], True
    query = request.GET.get("q", "").strip()
    return [volume.name for volume in listed(request, query)], False


def _size(name: str, measured: dict[str, int] | None, problem: str) -> Size:
    if measured is None:
        return Size(name, None, problem)
    size = measured.get(name)
    if size is None:
        return Size(name, None, "Not in the engine's disk-usage answer.")
    if size < 0:
        return Size(name, None, "The engine doesn't measure this volume (its driver).")
    return Size(name, size)


@require_GET
@permission_required(VIEW, raise_exception=True)
def volume_sizes(request):
    problem = ""
    try:
        names, with_total = _shown(request)
    except gateway.GatewayError as exc:
        names, with_total, problem = [], bool(request.GET.get("unused")), str(exc)
    measured = None
    if names:
        try:
            measured = gateway.disk_usage.volume_sizes(names).sizes
        except gateway.GatewayError as exc:
            problem = str(exc)
    sizes = [_size(name, measured, problem) for name in names]
    context = {"sizes": sizes, "problem": problem, "with_total": with_total}
    if with_total:
        known = [size.bytes for size in sizes if size.bytes is not None]
        context["total"] = sum(known) if known or not sizes else None
        context["total_partial"] = len(known) < len(sizes)
    return render(request, "volumes/_sizes.html", context)
