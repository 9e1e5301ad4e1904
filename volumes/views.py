"""Volume pages: the list, create, remove (typed confirmation) and prune. Changes are audited."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET, require_http_methods

from audit.records import record
from dockerweb import gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import is_partial
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


@dataclass(frozen=True, slots=True)
class VolumeRow:
    volume: gateway.volumes.VolumeSummary
    size: int  # -1 when the engine doesn't know
    users: list[str]

    @property
    def search_text(self) -> str:
        labels = " ".join(f"{k}={v}" for k, v in self.volume.labels.items())
        anonymous = " anonymous" if self.volume.anonymous else ""
        return f"{self.volume.name} {self.volume.driver} {labels}{anonymous}".lower()


@require_GET
@permission_required(VIEW, raise_exception=True)
def volume_list(request):
    query = request.GET.get("q", "").strip()
    try:
        volumes = gateway.volumes.list_volumes()
        users = gateway.volumes.volume_users()
        sizes = gateway.volumes.volume_sizes()
        rows = [VolumeRow(v, sizes.get(v.name, -1), users.get(v.name, [])) for v in volumes]
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        rows = []
    if query:
        needle = query.lower()
        rows = [row for row in rows if needle in row.search_text]
    context = {"rows": rows, "query": query}
    if is_partial(request):
        return render(request, "volumes/_rows.html", context)
    return render(request, "volumes/list.html", {**context})


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
                messages.success(request, f"Created {kind} {volume.name}.")
                return redirect("volumes:list")
        else:
            status = 400
    return render(request, "volumes/create.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def remove(request, volume_name):
    """GET: what will be lost and a box to type the name; POST: remove, refused while in use."""
    context = {"volume_name": volume_name}
    try:
        volume = gateway.volumes.inspect_volume(volume_name)
        users = gateway.volumes.volume_users().get(volume_name, [])
        size = gateway.volumes.volume_sizes().get(volume_name, -1)
    except gateway.NotFound:
        raise Http404(f"No volume {volume_name} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return render(request, "volumes/remove.html", context, status=503)
    context.update({"volume": volume, "users": users, "size": size})
    if request.method == "GET":
        return render(request, "volumes/remove.html", context)

    if users:
        problem = (
            f"{volume_name} is used by {', '.join(users)}. Remove "
            f"{'that container' if len(users) == 1 else 'those containers'} first."
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
    _audit(request, "volume.remove", volume.name, detail=f"size {size} bytes")
    messages.success(request, f"Removed volume {volume_name}.")
    return redirect("volumes:list")


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def prune(request):
    """GET: the unused volumes that will go and their size; POST: prune and report."""
    if request.method == "POST":
        try:
            deleted, reclaimed = gateway.volumes.prune_volumes()
        except gateway.GatewayError as exc:
            _audit(request, "volume.prune", "unused volumes", error=exc)
            messages.error(request, f"Could not prune volumes: {exc}")
            return redirect("volumes:prune")
        summary = (
            f"Pruned {len(deleted)} unused volume{'s' if len(deleted) != 1 else ''}: "
            f"{filesizeformat(reclaimed)} reclaimed ({reclaimed} bytes)."
        )
        _audit(request, "volume.prune", "unused volumes", detail=f"{summary} {', '.join(deleted)}")
        messages.success(request, summary)
        return redirect("volumes:list")
    try:
        unused = gateway.volumes.prune_preview()
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        unused = None
    context = {
        "unused": unused,
        "total": sum(max(size, 0) for _, size in unused or ()),
    }
    return render(request, "volumes/prune.html", context)
