"""Volume pages: the list, create, remove (typed confirmation) and prune. Changes are audited."""

import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from audit.records import record
from dockerweb import confirmed_prune, engines, gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import render_page_or_partial
from dockerweb.url_converters import VolumeNameConverter
from volumes.forms import VolumeForm

VIEW = "volumes.view_volume"
CREATE = "volumes.create_volume"
REMOVE = "volumes.remove_volume"
READ_FILES = "volumes.read_volume_files"


def _audit(request, action: str, name: str, *, error=None, detail="") -> None:
    record(
        request.user,
        action,
        target_type="volume",
        target_id=name,
        target_name=name,
        detail=detail,
        error=error,
    )


def _volumes(request) -> list[gateway.volumes.VolumeSummary]:
    """The engine's volumes, sorted by name, from the live model (no engine call).
    Raises EngineUnavailable."""
    return engines.live_for(request).volumes()


def search_text(volume: gateway.volumes.VolumeSummary) -> str:
    labels = " ".join(f"{k}={v}" for k, v in volume.labels.items())
    anonymous = " anonymous" if volume.anonymous else ""
    return f"{volume.name} {volume.driver} {labels}{anonymous}".lower()


def listed(request, query: str) -> list[gateway.volumes.VolumeSummary]:
    """The volumes the list shows for `query` (the sizes fragment measures the same ones).

    Raises GatewayError."""
    volumes = _volumes(request)
    needle = query.lower()
    return [v for v in volumes if needle in search_text(v)] if needle else volumes


# A row names this many of a volume's users; the rest are a link to the filtered list.
USERS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class VolumeRow:
    volume: gateway.volumes.VolumeSummary
    users: list[str]
    user_count: int = 0

    @property
    def more_users(self) -> int:
        return self.user_count - len(self.users)

    @property
    def search_text(self) -> str:
        return search_text(self.volume)


@require_GET
@permission_required(VIEW, raise_exception=True)
def volume_list(request):
    """The volumes, each size a "measuring…" placeholder: the sizes fragment fills them,
    so the page never waits for the engine's disk-usage query."""
    query = request.GET.get("q", "").strip()
    try:
        volumes = listed(request, query)
        users = engines.live_for(request).usage_index("volume", limit=USERS_SHOWN)
        rows = [VolumeRow(v, *users.get(v.name, ([], 0))) for v in volumes]
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        rows = []
    context = {"rows": rows, "query": query}
    return render_page_or_partial(request, "volumes/list.html", "volumes/_rows.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(CREATE, raise_exception=True)
def create(request):
    form = VolumeForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                volume = gateway.volumes.create_volume(
                    data["name"] or None, data["driver"], data["driver_opts"], data["labels"]
                )
            except gateway.EngineUnavailable as exc:
                report_engine_error(request, exc)
                status = 503
            except gateway.GatewayError as exc:
                _audit(request, "volume.create", data["name"] or "(anonymous)", error=exc)
                form.add_error(None, f"The engine refused: {exc}")
                status = 400
            else:
                kind = "anonymous volume" if not data["name"] else "volume"
                host = f"; bind of host path {form.bind_source}" if form.bind_source else ""
                _audit(
                    request, "volume.create", volume.name, detail=f"driver {volume.driver}{host}"
                )
                engines.current().refresh("volume", volume.name)
                messages.success(request, f"Created {kind} {volume.name}.")
                return redirect("volumes:list")
        else:
            status = 400
    return render(request, "volumes/create.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def remove(request, volume_name):
    """GET: what will be lost (its size fills in after) and a box to type the name;
    POST: remove, refused while in use."""
    context = {"volume_name": volume_name}
    try:
        volume = gateway.volumes.inspect_volume(volume_name)
        users, user_count = engines.live_for(request).usage("volume", volume_name, limit=20)
        users = [c.name for c in users]
    except gateway.NotFound:
        raise Http404(f"No volume {volume_name} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return render(request, "volumes/remove.html", context, status=503)
    context.update({"volume": volume, "users": users, "user_count": user_count})
    if request.method == "GET":
        return render(request, "volumes/remove.html", context)

    if users:
        more = f" and {user_count - len(users)} more" if user_count > len(users) else ""
        problem = (
            f"{volume_name} is used by {', '.join(users)}{more}. Remove "
            f"{'that container' if user_count == 1 else 'those containers'} first."
        )
        _audit(request, "volume.remove", volume_name, error=problem)
        return render(request, "volumes/remove.html", {**context, "problem": problem}, status=409)
    typed = request.POST.get("confirm_name", "").strip()
    if typed != volume_name:
        problem = f"Type the volume's name, {volume_name}, to confirm."
        return render(request, "volumes/remove.html", {**context, "problem": problem}, status=400)
    try:
        gateway.volumes.remove_volume(volume_name)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return render(request, "volumes/remove.html", context, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "volume.remove", volume_name, error=exc)
        problem = f"The engine refused: {exc}"
        return render(request, "volumes/remove.html", {**context, "problem": problem}, status=409)
    # What the confirmation showed, if it was measured: removing never waits for a query.
    size = gateway.disk_usage.last_known(volume_name)
    measured = "size not measured" if size is None else f"size {size} bytes"
    _audit(request, "volume.remove", volume.name, detail=measured)
    engines.current().refresh("volume", volume_name)
    messages.success(request, f"Removed volume {volume_name}.")
    return redirect("volumes:list")


_VOLUME_NAME = re.compile(VolumeNameConverter.regex)


def prunable(request, q: str = "") -> list[gateway.volumes.VolumeSummary]:
    """The unused volumes a prune offers (gateway.volumes.prune_preview) matching `q` (as
    the list's filter), from the live model. Raises EngineUnavailable."""
    model = engines.live_for(request)
    unused = gateway.volumes.prune_preview(model.volumes(), model.usage_counts("volume"))
    needle = q.lower()
    return [v for v in unused if needle in search_text(v)] if needle else unused


def _prune_confirmed(request, names: list[str]) -> confirmed_prune.Outcome:
    """Remove each confirmed volume that is still unused, one call each. Raises
    EngineUnavailable."""
    still = {volume.name for volume in prunable(request)}
    model = engines.live_for(request)
    users = model.usage_counts("volume")

    def why_kept(name: str) -> str | None:
        if name in still:
            return None
        if model.volume(name) is None:
            return ""
        count = users.get(name, 0)
        if count:
            return f"used by {count} container{'s' if count != 1 else ''} now"
        return "not a volume a prune removes"

    def remove(name: str) -> None:
        # Without force: the engine refuses a volume a container mounted since the check.
        gateway.volumes.remove_volume(name)
        engines.current().refresh("volume", name)

    return confirmed_prune.remove_each(
        names,
        why_kept=why_kept,
        remove=remove,
        # What the confirmation showed, if it was measured: pruning never waits for a query.
        size=gateway.disk_usage.last_known,
    )


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def prune(request):
    """GET: the unused volumes that will go (their sizes fill in after), ticked; POST (their
    names): remove those still unused, report what was removed, kept and why, and the space
    reclaimed (as last measured)."""
    if request.method == "POST":
        names = confirmed_prune.confirmed_ids(request.POST.getlist("volume"), _VOLUME_NAME)
        if names is None:
            messages.error(request, "Nothing pruned: choose unused volumes on this page.")
            return redirect("volumes:prune")
        try:
            outcome = _prune_confirmed(request, names)
        except gateway.GatewayError as exc:
            _audit(request, "volume.prune", "unused volumes", error=exc)
            messages.error(request, f"Could not prune volumes: {exc}")
            return redirect("volumes:prune")
        summary = confirmed_prune.summary(outcome, "unused volume", hedge=("", " as last measured"))
        removed = ", ".join(outcome.removed)
        detail = f"{summary} Removed: {removed}." if removed else summary
        _audit(request, "volume.prune", "unused volumes", detail=detail)
        (messages.success if outcome.removed else messages.warning)(request, summary)
        return redirect("volumes:list")
    q = request.GET.get("q", "").strip()[:200]
    try:
        unused = prunable(request, q)
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        unused = None
    context = {
        "q": q,
        "unused": unused[: confirmed_prune.CONFIRM_MAX] if unused is not None else None,
        "total_count": len(unused or ()),
    }
    return render(request, "volumes/prune.html", context)
