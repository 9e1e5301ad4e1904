"""The container's Settings tab: edit, review the diff, confirm, recreate."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.records import record
from containers.permissions import CREATE, REMOVE
from containers.settings_form import ContainerSettingsForm
from containers.views import _inspect_or_404, audit_env_read
from dockerweb import engines, gateway, host_access
from dockerweb.engine_errors import report_engine_error

# What a recreate costs, shown before the user confirms.
LOSSES = (
    "The container is recreated: it is stopped, and its processes start again from scratch "
    "in the new container.",
    "Its writable layer is lost: files written inside the container outside volumes and "
    "bind mounts.",
    "Its logs so far, and its ID (the new container has a new one).",
)


@require_http_methods(["GET", "POST"])
# Recreating replaces the container: it takes the right to create and to remove one.
@permission_required([CREATE, REMOVE], raise_exception=True)
def container_settings(request, container_id):
    """GET: the form; POST step=review: the diff to confirm; step=edit: back to the form
    with the edits; step=confirm: recreate. Each step asks the host-access policy first."""
    container = _inspect_or_404(request, container_id)
    if container is not None:
        request.selected_container = container.id
    context = {"container": container, "tab": "settings"}
    if container is None:
        return render(request, "containers/settings.html", context)
    current = gateway.recreate.settings_of(container)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    form = ContainerSettingsForm(current, request.POST if step else None, user=request.user)
    # The Network pane is read only: connecting and disconnecting live on the network's own
    # page, no recreate needed.
    context.update(form=form, networks=current.networks, losses=LOSSES)
    try:
        held = _admins_only(request, current)
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return render(request, "containers/settings.html", context, status=503)
    if held:
        context["admins_only"] = held
        if step == "confirm":
            _audit(request, container.id, container.name, error=held, detail="settings")
        return render(request, "containers/settings.html", context, status=403 if step else 200)
    if step in ("", "edit") or not form.is_valid():
        if not step and form.shows_env_values:
            audit_env_read(request, container, "the Settings form")
        return render(
            request, "containers/settings.html", context, status=400 if form.errors else 200
        )
    change = form.change()
    if not change.changed_fields():
        form.add_error(None, "Nothing changed: edit a setting first.")
        return render(request, "containers/settings.html", context, status=400)
    fields = ", ".join(change.changed_fields())
    try:
        plan = gateway.recreate.plan(container.id, change)
        checked = host_access.check_recreate(request.user, plan)
        if step != "confirm":
            context["diff"] = form.diff(change)
            context["has_secrets"] = any(line.secret for line in context["diff"])
            return render(request, "containers/settings_confirm.html", context)
        new_id = gateway.recreate.apply(plan, checked)
    except host_access.Refused as exc:
        exc.add_to(form)
        if step == "confirm":
            _audit(request, container.id, container.name, error=exc, detail=fields)
        return render(request, "containers/settings.html", context, status=400)
    except gateway.GatewayError as exc:
        if isinstance(exc, gateway.EngineUnavailable):
            report_engine_error(request, exc)
        if step == "confirm":
            _audit(request, container.id, container.name, error=exc, detail=fields)
        form.add_error(
            None,
            f"Could not apply the settings: {exc}. The container was left as it was.",
        )
        return render(request, "containers/settings.html", context, status=400)
    new_name = gateway.containers.engine_name(new_id, change.name or container.name)
    _audit(request, new_id, new_name, detail=f"changed {fields}; replaced {container.short_id}")
    engine = engines.current()
    engine.refresh("container", container.id)
    engine.refresh("container", new_id)
    messages.success(request, f"Recreated {new_name} with the new settings.")
    return redirect("containers:logs", new_id)


def _admins_only(request, current: gateway.recreate.ContainerSettings) -> str:
    """Why only an administrator may change this container (it holds host access), or ""."""
    if host_access.is_admin(request.user):
        return ""
    held = host_access.held_host_access(current.body)
    return host_access.holds_host_access_message(held) if held else ""


def _audit(request, container_id: str, name: str, *, error=None, detail: str = ""):
    # Only the names of the changed fields: environment values may be secrets.
    record(
        request.user,
        "container.recreate",
        target_type="container",
        target_id=container_id,
        target_name=name,
        detail=detail,
        error=error,
    )
