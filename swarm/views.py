"""Swarm pages: the overview (nodes, services), a service (tasks, scale, image, rollback,
remove, live logs), the New service form, a node's availability and labels.

Pages ask the engine directly (a swarm's nodes and services are few next to its
containers); its service and node events re-render the live parts (swarm/consumers.py).
Changes go through swarm/services.py: policy, engine, activity trail. An engine that is
not a swarm manager gets a page saying so, never an error.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.records import record
from dockerweb import gateway, host_access
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import render_page_or_partial

from . import services
from .forms import NewServiceForm, NodeForm, ScaleForm, UpdateImageForm
from .permissions import CHANGE, CREATE, MANAGE_NODE, REMOVE, VIEW


def _swarm_state(request):
    """The engine's swarm state; None (with the banner or a message) when it can't say."""
    try:
        return gateway.swarm.swarm_state()
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return None


@require_GET
@permission_required(VIEW, raise_exception=True)
def overview(request):
    state = _swarm_state(request)
    nodes, service_rows = [], []
    if state is not None and state.is_manager:
        try:
            nodes = gateway.swarm.nodes()
            service_rows = gateway.swarm.services()
        except gateway.GatewayError as exc:
            report_engine_error(request, exc)
    context = {"state": state, "nodes": nodes, "services": service_rows}
    return render_page_or_partial(request, "swarm/overview.html", "swarm/_overview.html", context)


def _service_or_404(request, service_id: str):
    try:
        return gateway.swarm.service(service_id)
    except gateway.NotFound:
        raise Http404(f"No service {service_id} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return None


def _render_service(request, service_id, *, scale_form=None, image_form=None, status=200):
    service = _service_or_404(request, service_id)
    tasks = []
    if service is not None:
        try:
            tasks = gateway.swarm.tasks(service.id)
        except gateway.GatewayError as exc:
            report_engine_error(request, exc)
    context = {
        "service": service,
        "service_id": service_id,
        "tasks": tasks,
        "running_tasks": sum(1 for t in tasks if t.state == "running"),
        "scale_form": scale_form
        or ScaleForm(initial={"replicas": service.replicas if service else 1}),
        "image_form": image_form
        or UpdateImageForm(initial={"image": service.image if service else ""}),
        "log_tail": settings.LOG_TAIL_DEFAULT,
        "log_lines_kept": settings.LOG_LINES_KEPT,
    }
    return render_page_or_partial(
        request, "swarm/service.html", "swarm/_service_live.html", context, status=status
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def service_detail(request, service_id):
    return _render_service(request, service_id)


def _failed(request, exc, form=None) -> int:
    """Put a refusal or an engine error where the user sees it; the status to answer with."""
    if isinstance(exc, host_access.Refused):
        if form is not None:
            exc.add_to(form)
        else:
            messages.error(request, str(exc))
        return 403
    if isinstance(exc, gateway.EngineUnavailable):
        report_engine_error(request, exc)
        return 503
    if form is not None:
        form.add_error(None, f"The engine refused: {exc}")
    else:
        messages.error(request, f"The engine refused: {exc}")
    if isinstance(exc, gateway.NotFound):
        return 404
    return 409 if isinstance(exc, gateway.Conflict) else 400


@require_http_methods(["GET", "POST"])
@permission_required(CREATE, raise_exception=True)
def service_create(request):
    form = NewServiceForm(request.POST or None)
    state = _swarm_state(request)
    status = 200
    if request.method == "POST":
        status = 400
        if state is None or not state.is_manager:
            form.add_error(None, "This engine is not a swarm manager: it can't run services.")
        elif form.is_valid():
            new = form.new_service()
            try:
                service_id = services.create(request.user, new)
            except services.Failure as exc:
                status = _failed(request, exc, form)
            else:
                messages.success(request, f"Created service {new.name}.")
                return redirect("swarm:service", service_id)
    return render(request, "swarm/new.html", {"form": form, "state": state}, status=status)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def service_scale(request, service_id):
    return _change_with_form(
        request,
        service_id,
        ScaleForm(request.POST),
        "scale_form",
        lambda replicas: services.scale(request.user, service_id, replicas),
        lambda name, replicas: f"Scaled {name} to {replicas} replicas.",
        field="replicas",
    )


@require_POST
@permission_required(CHANGE, raise_exception=True)
def service_update(request, service_id):
    return _change_with_form(
        request,
        service_id,
        UpdateImageForm(request.POST),
        "image_form",
        lambda image: services.update_image(request.user, service_id, image),
        lambda name, image: f"Updating {name} to {image}: its tasks are replaced one by one.",
        field="image",
    )


def _change_with_form(request, service_id, form, form_key, change, success, *, field):
    """A service change from one form field: the service page again with the form's errors
    (400), the refusal or the engine's error (_failed), or back to it with `success`."""
    if not form.is_valid():
        return _render_service(request, service_id, status=400, **{form_key: form})
    value = form.cleaned_data[field]
    try:
        name = change(value)
    except services.Failure as exc:
        status = _failed(request, exc, form)
        return _render_service(request, service_id, status=status, **{form_key: form})
    messages.success(request, success(name, value))
    return redirect("swarm:service", service_id)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def service_rollback(request, service_id):
    try:
        name = services.roll_back(request.user, service_id)
    except services.Failure as exc:
        status = _failed(request, exc)
        return _render_service(request, service_id, status=status)
    messages.success(request, f"Rolling {name} back to its previous version.")
    return redirect("swarm:service", service_id)


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def service_remove(request, service_id):
    """GET: say what goes and ask; POST: remove."""
    service = _service_or_404(request, service_id)
    if service is None:
        return render(request, "swarm/remove.html", {"service": None, "service_id": service_id})
    if request.method == "GET":
        return render(request, "swarm/remove.html", {"service": service})
    try:
        name = services.remove(request.user, service.id)
    except services.Failure as exc:
        status = _failed(request, exc)
        return render(request, "swarm/remove.html", {"service": service}, status=status)
    messages.success(request, f"Removed service {name} and its tasks.")
    return redirect("swarm:overview")


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_NODE, raise_exception=True)
def node_edit(request, node_id):
    try:
        node = gateway.swarm.node(node_id)
    except gateway.NotFound:
        raise Http404(f"No node {node_id} in this swarm.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return render(request, "swarm/node.html", {"node": None, "node_id": node_id}, status=503)
    initial = {
        "availability": node.availability,
        "labels": "\n".join(f"{k}={v}" for k, v in node.labels.items()),
    }
    form = NodeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        detail = f"availability {data['availability']}, labels {data['labels']}"
        try:
            gateway.swarm.update_node(
                node.id, node.version, availability=data["availability"], labels=data["labels"]
            )
        except gateway.GatewayError as exc:
            if not isinstance(exc, gateway.EngineUnavailable):
                record(
                    request.user,
                    "node.update",
                    target_type="node",
                    target_id=node.id,
                    target_name=node.hostname,
                    detail=detail,
                    error=exc,
                )
            status = _failed(request, exc, form)
            return render(request, "swarm/node.html", {"node": node, "form": form}, status=status)
        record(
            request.user,
            "node.update",
            target_type="node",
            target_id=node.id,
            target_name=node.hostname,
            detail=detail,
        )
        messages.success(request, f"Updated node {node.hostname}.")
        return redirect("swarm:overview")
    status = 400 if request.method == "POST" else 200
    return render(request, "swarm/node.html", {"node": node, "form": form}, status=status)
