"""Networks: list, create, detail (connect/disconnect containers), remove. Changes are audited."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.records import record
from dockerweb import gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import is_partial
from networks.forms import ConnectForm, CreateNetworkForm

VIEW = "networks.view_network"
CREATE = "networks.create_network"
REMOVE = "networks.remove_network"
CONNECT = "networks.connect_network"


def _audit(request, action: str, network, *, error=None, detail="") -> None:
    record(
        request.user,
        action,
        target_type="network",
        target_id=getattr(network, "id", "") or str(network),
        target_name=getattr(network, "name", "") or str(network),
        detail=detail,
        error=error,
    )


def _created(network_id: str, name: str):
    """The new network as the engine has it (its full id and name) for the trail; the id
    and the name asked for when the engine can no longer say."""
    try:
        return gateway.networks.inspect_network(network_id)
    except gateway.GatewayError:
        return gateway.networks.Network(
            id=network_id, name=name, driver="bridge", scope="", internal=False
        )


def _search_text(network) -> str:
    parts = [network.name, network.short_id, network.driver, network.scope, *network.subnets]
    parts += network.container_names
    return " ".join(parts).lower()


@require_GET
@permission_required(VIEW, raise_exception=True)
def network_list(request):
    try:
        networks = gateway.networks.list_networks()
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        networks = []
    rows = [{"network": n, "search": _search_text(n)} for n in networks]
    context = {"rows": rows}
    if is_partial(request):
        return render(request, "networks/_rows.html", context)
    return render(request, "networks/list.html", {**context})


@require_http_methods(["GET", "POST"])
@permission_required(CREATE, raise_exception=True)
def network_create(request):
    form = CreateNetworkForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            name = data["name"]
            try:
                network_id = gateway.networks.create_network(
                    name,
                    "bridge",
                    subnet=str(data["subnet"] or ""),
                    gateway=str(data["gateway"] or ""),
                    internal=data["internal"],
                    labels=data["labels"],
                )
            except gateway.EngineUnavailable as exc:
                report_engine_error(request, exc)
                status = 503
            except gateway.GatewayError as exc:
                _audit(request, "network.create", name, error=exc)
                form.add_error(None, f"The engine refused to create the network: {exc}")
            else:
                detail = f"bridge, subnet {data['subnet'] or 'automatic'}"
                if data["internal"]:
                    detail += ", internal"
                _audit(request, "network.create", _created(network_id, name), detail=detail)
                messages.success(request, f"Created network {name}.")
                return redirect("networks:detail", network_id)
    context = {"form": form}
    return render(request, "networks/create.html", context, status=status)


def _inspect_or_404(request, network_id):
    """The network; None (with the banner) when the engine can't say."""
    try:
        return gateway.networks.inspect_network(network_id)
    except gateway.NotFound:
        raise Http404(f"No network {network_id} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return None


def _connect_form(request, network, data=None):
    try:
        containers = gateway.containers.list_containers()
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        containers = []
    attached = {a.container_id for a in network.containers} if network else set()
    candidates = [c for c in containers if c.id not in attached]
    return ConnectForm(data, containers=candidates, subnets=network.subnets if network else ())


def _render_detail(request, network_id, *, network=None, form=None, status=200):
    if network is None:
        network = _inspect_or_404(request, network_id)
    if form is None and network is not None and request.user.has_perm(CONNECT):
        form = _connect_form(request, network)
    context = {
        "network": network,
        "network_id": network_id,
        "connect_form": form,
    }
    return render(request, "networks/detail.html", context, status=status)


@require_GET
@permission_required(VIEW, raise_exception=True)
def network_detail(request, network_id):
    return _render_detail(request, network_id)


@require_POST
@permission_required(CONNECT, raise_exception=True)
def connect(request, network_id):
    network = _inspect_or_404(request, network_id)
    if network is None:
        return _render_detail(request, network_id, status=503)
    form = _connect_form(request, network, request.POST)
    if not form.is_valid():
        return _render_detail(request, network_id, network=network, form=form, status=400)
    data = form.cleaned_data
    container_id = data["container"]
    container_name = dict(form.fields["container"].choices).get(container_id, container_id)
    try:
        gateway.networks.connect(
            network.id, container_id, aliases=data["aliases"], ipv4_address=data["ipv4_address"]
        )
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return _render_detail(request, network_id, network=network, form=form, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "network.connect", network, error=f"{container_name}: {exc}")
        form.add_error(None, f"The engine refused to connect {container_name}: {exc}")
        return _render_detail(request, network_id, network=network, form=form, status=400)
    detail = f"connected {container_name}"
    if data["aliases"]:
        detail += f" with aliases {', '.join(data['aliases'])}"
    if data["ipv4_address"]:
        detail += f" at {data['ipv4_address']}"
    _audit(request, "network.connect", network, detail=detail)
    messages.success(request, f"Connected {container_name} to {network.name}.")
    return redirect("networks:detail", network.id)


@require_http_methods(["GET", "POST"])
@permission_required(CONNECT, raise_exception=True)
def disconnect(request, network_id):
    """GET: say what the container loses and ask; POST: disconnect."""
    network = _inspect_or_404(request, network_id)
    if network is None:
        return _render_detail(request, network_id, status=503)
    container_id = request.POST.get("container", "") or request.GET.get("container", "")
    attached = {a.container_id: a for a in network.containers}
    if container_id not in attached:
        messages.error(request, f"That container is not connected to {network.name}.")
        return redirect("networks:detail", network.id)
    if request.method == "GET":
        context = {
            "network": network,
            "attachment": attached[container_id],
        }
        return render(request, "networks/disconnect.html", context)
    name = attached[container_id].name
    try:
        gateway.networks.disconnect(network.id, container_id)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return _render_detail(request, network_id, network=network, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "network.disconnect", network, error=f"{name}: {exc}")
        messages.error(request, f"Could not disconnect {name}: {exc}")
        return redirect("networks:detail", network.id)
    _audit(request, "network.disconnect", network, detail=f"disconnected {name}")
    messages.success(request, f"Disconnected {name} from {network.name}.")
    return redirect("networks:detail", network.id)


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def remove(request, network_id):
    """GET: say what will be lost and ask; POST: remove, refused while in use."""
    network = _inspect_or_404(request, network_id)
    context = {"network": network, "network_id": network_id}
    if network is None:
        return render(request, "networks/remove.html", context, status=503)
    problem = ""
    if network.predefined:
        problem = (
            f"{network.name} is one of the engine's predefined networks (bridge, host, none): "
            "it can't be removed."
        )
    elif network.containers:
        problem = (
            f"{network.name} is in use by {', '.join(network.container_names)}. "
            "Disconnect or remove those containers first."
        )
    if request.method == "GET":
        return render(request, "networks/remove.html", {**context, "problem": problem})
    if problem:
        _audit(request, "network.remove", network, error=problem)
        return render(request, "networks/remove.html", {**context, "problem": problem}, status=409)
    try:
        gateway.networks.remove_network(network.id)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return render(request, "networks/remove.html", context, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "network.remove", network, error=exc)
        problem = f"The engine refused: {exc}"
        return render(request, "networks/remove.html", {**context, "problem": problem}, status=409)
    _audit(request, "network.remove", network, detail=f"removed {network.name}")
    messages.success(request, f"Removed network {network.name}.")
    return redirect("networks:list")
