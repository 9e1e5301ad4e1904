"""Networks: list, create, detail (connect/disconnect containers), remove. Changes are audited.

Pages read the engine's live model: which containers are on a network comes from it (a
count, and the first few by name), never from an engine listing, so a network with 10,000
containers costs what one with three does. Actions refresh the model with what they changed,
so the page they lead to already shows it.
"""

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.records import record
from dockerweb import engines, gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import render_page_or_partial
from dockerweb.url_converters import ContainerRefConverter
from networks.forms import ConnectForm, CreateNetworkForm, endpoint_on

VIEW = "networks.view_network"
CREATE = "networks.create_network"
REMOVE = "networks.remove_network"
CONNECT = "networks.connect_network"
# A network's page names this many of its containers (each one engine call for its
# aliases) and links to the containers list for the rest.
ATTACHED_SHOWN = 20


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
        return gateway.networks.network_record(network_id)
    except gateway.GatewayError:
        return gateway.networks.Network(
            id=network_id, name=name, driver="bridge", scope="", internal=False
        )


def containers_on(network_name: str) -> str:
    """The containers list filtered to one network."""
    return reverse("containers:list") + "?" + urlencode({"network": network_name})


def _live(request):
    """The live model; None (with the banner) when the engine is down."""
    try:
        return engines.live_for(request)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return None


def _search_text(network) -> str:
    parts = [network.name, network.short_id, network.driver, network.scope, *network.subnets]
    return " ".join(parts).lower()


@require_GET
@permission_required(VIEW, raise_exception=True)
def network_list(request):
    model = _live(request)
    networks = model.networks() if model else []
    counts = model.usage_counts("network") if model else {}
    rows = [
        {
            "network": n,
            "search": _search_text(n),
            "containers": counts.get(n.name, 0),
            "containers_url": containers_on(n.name),
        }
        for n in networks
    ]
    return render_page_or_partial(
        request, "networks/list.html", "networks/_rows.html", {"rows": rows}
    )


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
                engines.current().refresh("network", network_id)
                messages.success(request, f"Created network {name}.")
                return redirect("networks:detail", network_id)
    context = {"form": form}
    return render(request, "networks/create.html", context, status=status)


def _record_or_404(request, network_id):
    """The network's own record (one inspect); None (with the banner) when the engine
    can't say."""
    try:
        return gateway.networks.network_record(network_id)
    except gateway.NotFound:
        raise Http404(f"No network {network_id} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return None


def _attachments(request, network, containers) -> list:
    """The shown containers with their address and aliases on the network."""
    try:
        aliases = gateway.networks.aliases_on(network.name, [c.id for c in containers])
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        aliases = {}
    attachments = []
    for container in containers:
        endpoint = endpoint_on(container, network)
        attachments.append(
            gateway.networks.Attachment(
                container_id=container.id,
                name=container.name,
                ipv4_address=endpoint.ipv4_address if endpoint else "",
                aliases=aliases.get(container.id, ()),
            )
        )
    return attachments


def _render_detail(request, network_id, network, *, model=None, form=None, status=200):
    """The network's page; `network` None when the engine couldn't say."""
    if model is None and network is not None:
        model = _live(request)
    attachments, total = [], 0
    if network is not None and model is not None:
        shown, total = model.usage("network", network.name, limit=ATTACHED_SHOWN)
        attachments = _attachments(request, network, shown)
        if form is None and request.user.has_perm(CONNECT):
            form = ConnectForm(model=model, network=network)
    context = {
        "network": network,
        "network_id": network_id,
        "attachments": attachments,
        "attached_total": total,
        "attached_more": total - len(attachments),
        "containers_url": containers_on(network.name) if network else "",
        "connect_form": form,
    }
    return render(request, "networks/detail.html", context, status=status)


@require_GET
@permission_required(VIEW, raise_exception=True)
def network_detail(request, network_id):
    return _render_detail(request, network_id, _record_or_404(request, network_id))


@require_POST
@permission_required(CONNECT, raise_exception=True)
def connect(request, network_id):
    network = _record_or_404(request, network_id)
    model = _live(request) if network is not None else None
    if network is None or model is None:
        return _render_detail(request, network_id, network, status=503)
    form = ConnectForm(request.POST, model=model, network=network)
    if not form.is_valid():
        return _render_detail(request, network_id, network, model=model, form=form, status=400)
    data = form.cleaned_data
    container = data["container"]
    try:
        gateway.networks.connect(
            network.id, container.id, aliases=data["aliases"], ipv4_address=data["ipv4_address"]
        )
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return _render_detail(request, network_id, network, model=model, form=form, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "network.connect", network, error=f"{container.name}: {exc}")
        form.add_error(None, f"The engine refused to connect {container.name}: {exc}")
        return _render_detail(request, network_id, network, model=model, form=form, status=400)
    detail = f"connected {container.name}"
    if data["aliases"]:
        detail += f" with aliases {', '.join(data['aliases'])}"
    if data["ipv4_address"]:
        detail += f" at {data['ipv4_address']}"
    _audit(request, "network.connect", network, detail=detail)
    engines.current().refresh("container", container.id)
    messages.success(request, f"Connected {container.name} to {network.name}.")
    return redirect("networks:detail", network.id)


def _attached(network, reference: str):
    """The Attachment of the container `reference` names on `network`, as the engine says
    it now (the model may be a moment behind a connect made elsewhere); None if it isn't on it.

    Raises EngineUnavailable, EngineError."""
    if len(reference) > 256 or not re.fullmatch(ContainerRefConverter.regex, reference):
        return None  # not a container reference: nothing to ask the engine
    try:
        container = gateway.containers.inspect_container(reference)
    except gateway.NotFound:
        return None
    for place in container.networks:
        if place.name == network.name:
            return gateway.networks.Attachment(
                container.id, container.name, place.ip_address, place.aliases
            )
    return None


@require_http_methods(["GET", "POST"])
@permission_required(CONNECT, raise_exception=True)
def disconnect(request, network_id):
    """GET: say what the container loses and ask; POST: disconnect."""
    network = _record_or_404(request, network_id)
    if network is None:
        return _render_detail(request, network_id, None, status=503)
    reference = (request.POST.get("container", "") or request.GET.get("container", "")).strip()
    try:
        attachment = _attached(network, reference)
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return _render_detail(request, network_id, network, status=503)
    if attachment is None:
        messages.error(request, f"That container is not connected to {network.name}.")
        return redirect("networks:detail", network.id)
    if request.method == "GET":
        context = {"network": network, "attachment": attachment}
        return render(request, "networks/disconnect.html", context)
    name = attachment.name
    try:
        gateway.networks.disconnect(network.id, attachment.container_id)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return _render_detail(request, network_id, network, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "network.disconnect", network, error=f"{name}: {exc}")
        messages.error(request, f"Could not disconnect {name}: {exc}")
        return redirect("networks:detail", network.id)
    _audit(request, "network.disconnect", network, detail=f"disconnected {name}")
    engines.current().refresh("container", attachment.container_id)
    messages.success(request, f"Disconnected {name} from {network.name}.")
    return redirect("networks:detail", network.id)


def _in_use(network, users, total) -> str:
    named = ", ".join(c.name for c in users)
    if total > len(users):
        named += f" and {total - len(users)} more"
    return f"{network.name} is in use by {named}. Disconnect or remove those containers first."


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def remove(request, network_id):
    """GET: say what will be lost and ask; POST: remove, refused while in use."""
    network = _record_or_404(request, network_id)
    model = _live(request) if network is not None else None
    context = {"network": network, "network_id": network_id}
    if network is None or model is None:
        return render(request, "networks/remove.html", {**context, "network": None}, status=503)
    users, total = model.usage("network", network.name, limit=ATTACHED_SHOWN)
    context |= {
        "users": users,
        "users_more": total - len(users),
        "containers_url": containers_on(network.name),
    }
    problem = ""
    if network.predefined:
        problem = (
            f"{network.name} is one of the engine's predefined networks (bridge, host, none): "
            "it can't be removed."
        )
    if request.method == "GET":
        # What the model says; the removal itself goes by what the engine says then.
        problem = problem or (_in_use(network, users, total) if total else "")
        return render(request, "networks/remove.html", {**context, "problem": problem})
    if not problem:
        try:
            gateway.networks.remove_network(network.id)
        except gateway.EngineUnavailable as exc:
            report_engine_error(request, exc)
            return render(request, "networks/remove.html", context, status=503)
        except gateway.Conflict as exc:
            problem = str(exc)  # in use: the gateway names the containers
        except gateway.GatewayError as exc:
            problem = f"The engine refused: {exc}"
    if problem:
        _audit(request, "network.remove", network, error=problem)
        return render(request, "networks/remove.html", {**context, "problem": problem}, status=409)
    _audit(request, "network.remove", network, detail=f"removed {network.name}")
    engines.current().refresh("network", network.id)
    messages.success(request, f"Removed network {network.name}.")
    return redirect("networks:list")
