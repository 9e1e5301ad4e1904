"""Swarm: is this engine a manager, its nodes, services, their tasks and logs.

Service specs (the bodies of POST /services/create and /services/{id}/update) are built
here as the engine's JSON, judged by dockerweb.host_access (which turns a spec into the
container body its tasks would run), and sent only as the CheckedService the policy made:
whatever is created or updated is exactly what was judged. Changes name the version index
the caller read: the engine refuses them if the service (or node) changed meanwhile.
"""

import copy

from . import raw_http
from .client import api, translate_errors
from .errors import InvalidRequest
from .logs import LogStream, log_params
from .swarm_types import (
    CheckedService,
    NewService,
    Node,
    Service,
    ServicePort,
    ServiceSpecs,
    SwarmState,
    Task,
)
from .types import parse_engine_time

# The label a service's task containers carry (the engine sets it).
SERVICE_ID_LABEL = "com.docker.swarm.service.id"


# -- the swarm ----------------------------------------------------------------------------------


def swarm_state() -> SwarmState:
    """Raises EngineUnavailable, EngineError."""
    with translate_errors():
        swarm = api().info().get("Swarm") or {}
    return SwarmState(
        local_state=swarm.get("LocalNodeState") or "inactive",
        is_manager=bool(swarm.get("ControlAvailable")),
        node_id=swarm.get("NodeID") or "",
        error=swarm.get("Error") or "",
    )


# -- nodes --------------------------------------------------------------------------------------


def _node(raw: dict) -> Node:
    spec = raw.get("Spec") or {}
    description = raw.get("Description") or {}
    status = raw.get("Status") or {}
    manager = raw.get("ManagerStatus") or {}
    return Node(
        id=raw.get("ID", ""),
        hostname=description.get("Hostname", ""),
        role=spec.get("Role", ""),
        state=status.get("State", ""),
        availability=spec.get("Availability", ""),
        labels=dict(spec.get("Labels") or {}),
        engine_version=(description.get("Engine") or {}).get("EngineVersion", ""),
        address=status.get("Addr", ""),
        leader=bool(manager.get("Leader")),
        version=(raw.get("Version") or {}).get("Index", 0),
    )


def nodes() -> list[Node]:
    """Every node, by hostname. Raises EngineUnavailable, EngineError (not a manager)."""
    with translate_errors():
        listed = api().nodes()
    return sorted((_node(raw) for raw in listed), key=lambda n: (n.hostname, n.id))


def node(node_id: str) -> Node:
    """Raises NotFound, EngineUnavailable, EngineError."""
    with translate_errors():
        return _node(api().inspect_node(node_id))


def update_node(
    node_id: str,
    version: int,
    *,
    availability: str | None = None,
    labels: dict[str, str] | None = None,
) -> None:
    """Set a node's availability and/or its labels (the whole set), keeping its role.

    Raises NotFound, InvalidRequest (an out-of-date `version`), EngineUnavailable, EngineError.
    """
    with translate_errors():
        client = api()
        spec = copy.deepcopy(client.inspect_node(node_id).get("Spec") or {})
        if availability is not None:
            spec["Availability"] = availability
        if labels is not None:
            spec["Labels"] = dict(labels)
        client.update_node(node_id, version, spec)


# -- services -----------------------------------------------------------------------------------


def _ports(endpoint: dict) -> tuple[ServicePort, ...]:
    return tuple(
        ServicePort(
            target=port.get("TargetPort") or 0,
            published=port.get("PublishedPort") or None,
            protocol=port.get("Protocol") or "tcp",
            mode=port.get("PublishMode") or "ingress",
        )
        for port in (endpoint.get("Ports") or ())
    )


def _mount_text(mount: dict) -> str:
    kind = mount.get("Type") or "volume"
    source = mount.get("Source") or "(anonymous)"
    text = f"{kind} {source}→{mount.get('Target', '')}"
    return f"{text} (ro)" if mount.get("ReadOnly") else text


def _image(spec: dict) -> str:
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image") or ""
    # The CLI pins images by digest (name:tag@sha256:…): the name and tag say enough here.
    return image.split("@", 1)[0]


def _service(raw: dict) -> Service:
    spec = raw.get("Spec") or {}
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    mode = spec.get("Mode") or {}
    replicated = mode.get("Replicated")
    status = raw.get("ServiceStatus") or {}
    update = raw.get("UpdateStatus") or {}
    previous = raw.get("PreviousSpec")
    return Service(
        id=raw.get("ID", ""),
        name=spec.get("Name", ""),
        image=_image(spec),
        mode="replicated" if replicated is not None else "global",
        replicas=(replicated or {}).get("Replicas") if replicated is not None else None,
        running=status.get("RunningTasks", 0),
        desired=status.get("DesiredTasks", 0),
        ports=_ports(raw.get("Endpoint", {}).get("Spec") or spec.get("EndpointSpec") or {}),
        update_state=update.get("State", ""),
        update_message=update.get("Message", ""),
        created=parse_engine_time(raw.get("CreatedAt")),
        updated=parse_engine_time(raw.get("UpdatedAt")),
        labels=dict(spec.get("Labels") or {}),
        command=tuple(container.get("Command") or ()) + tuple(container.get("Args") or ()),
        env_count=len(container.get("Env") or ()),
        mounts=tuple(_mount_text(m) for m in container.get("Mounts") or ()),
        version=(raw.get("Version") or {}).get("Index", 0),
        previous_image=_image(previous) if previous else "",
    )


def services() -> list[Service]:
    """Every service with its running and desired task counts, by name.

    Raises EngineUnavailable, EngineError (not a manager).
    """
    with translate_errors():
        listed = api().services(status=True)
    return sorted((_service(raw) for raw in listed), key=lambda s: (s.name, s.id))


def service(service_id: str) -> Service:
    """One service (by id or name) with its task counts.

    Raises NotFound, EngineUnavailable, EngineError.
    """
    with translate_errors():
        # Only the listing counts tasks (status=true); filtered to this one service.
        listed = api().services(filters={"id": service_id}, status=True)
        found = [raw for raw in listed if raw.get("ID") == service_id]
        if not found:
            listed = api().services(filters={"name": service_id}, status=True)
            found = [raw for raw in listed if (raw.get("Spec") or {}).get("Name") == service_id]
        if not found:
            raw = api().inspect_service(service_id)  # a prefix of an id: NotFound if none
            found = [raw]
    return _service(found[0])


def service_specs(service_id: str) -> ServiceSpecs:
    """A service's current spec and the one before its last change: what a change starts
    from and what the policy judges it against.

    Raises NotFound, EngineUnavailable, EngineError.
    """
    with translate_errors():
        raw = api().inspect_service(service_id)
    spec = copy.deepcopy(raw.get("Spec") or {})
    previous = raw.get("PreviousSpec")
    return ServiceSpecs(
        id=raw.get("ID", ""),
        name=spec.get("Name", ""),
        version=(raw.get("Version") or {}).get("Index", 0),
        current=spec,
        previous=copy.deepcopy(previous) if previous else None,
        previous_image=_image(previous) if previous else "",
    )


def new_service_spec(new: NewService, *, labels: dict[str, str]) -> dict:
    """The complete create body of the service `new` describes (to be judged, then created);
    `labels`: the portal's own, on the service."""
    container: dict = {"Image": new.image, "Labels": dict(new.labels)}
    if new.command:
        container["Args"] = list(new.command)
    if new.env:
        container["Env"] = list(new.env)
    if new.mounts:
        container["Mounts"] = [
            {
                "Type": mount.kind,
                "Source": mount.source,
                "Target": mount.target,
                "ReadOnly": mount.read_only,
            }
            for mount in new.mounts
        ]
    spec: dict = {
        "Name": new.name,
        "Labels": {**new.labels, **labels},
        "TaskTemplate": {"ContainerSpec": container},
        "Mode": {"Replicated": {"Replicas": new.replicas}},
    }
    if new.ports:
        spec["EndpointSpec"] = {
            "Ports": [
                {
                    "Protocol": port.protocol,
                    "TargetPort": port.target,
                    **({"PublishedPort": port.published} if port.published else {}),
                }
                for port in new.ports
            ]
        }
    return spec


def scaled_spec(spec: dict, replicas: int) -> dict:
    """`spec` with `replicas` tasks. Raises InvalidRequest for a global service."""
    changed = copy.deepcopy(spec)
    mode = changed.get("Mode") or {}
    if "Replicated" not in mode:
        raise InvalidRequest("A global service runs one task per node: it can't be scaled.")
    mode["Replicated"]["Replicas"] = replicas
    return changed


def spec_with_image(spec: dict, image: str) -> dict:
    """`spec` running `image`: a rolling update of its tasks, by its update config."""
    changed = copy.deepcopy(spec)
    changed.setdefault("TaskTemplate", {}).setdefault("ContainerSpec", {})["Image"] = image
    return changed


def create_service(checked: CheckedService) -> str:
    """Create exactly the judged service; its id.

    Raises Conflict (name taken), InvalidRequest, EngineUnavailable, EngineError.
    """
    with translate_errors():
        response = raw_http.post_json(api(), "/services/create", body=checked.spec, headers={})
        return response.json().get("ID", "")


def update_service(service_id: str, version: int, checked: CheckedService) -> None:
    """Replace a service's spec with exactly the judged one (scale, new image…); the engine
    rolls its tasks over by the service's update config.

    Raises NotFound, InvalidRequest (the service changed since `version`), EngineUnavailable,
    EngineError.
    """
    with translate_errors():
        raw_http.post_json(
            api(),
            "/services/{0}/update",
            service_id,
            body=checked.spec,
            params={"version": version},
            headers={},
        ).close()


def roll_back_service(service_id: str, version: int, checked: CheckedService) -> None:
    """Return a service to its previous spec (the engine's own rollback, by its rollback
    config). `checked` is that previous spec, judged; `version` the one it was read at, so
    the engine refuses if the service changed since (and its previous spec with it).

    Raises NotFound, InvalidRequest, EngineUnavailable, EngineError.
    """
    with translate_errors():
        raw_http.post_json(
            api(),
            "/services/{0}/update",
            service_id,
            body=checked.spec,
            params={"version": version, "rollback": "previous"},
            headers={},
        ).close()


def remove_service(service_id: str) -> None:
    """Remove a service; the engine stops and removes its tasks.

    Raises NotFound, EngineUnavailable, EngineError.
    """
    with translate_errors():
        api().remove_service(service_id)


# -- tasks and logs -----------------------------------------------------------------------------


def _task(raw: dict, hostnames: dict[str, str]) -> Task:
    status = raw.get("Status") or {}
    spec = raw.get("Spec") or {}
    node_id = raw.get("NodeID") or ""
    return Task(
        id=raw.get("ID", ""),
        slot=raw.get("Slot"),
        node_id=node_id,
        node=hostnames.get(node_id, ""),
        desired_state=raw.get("DesiredState", ""),
        state=status.get("State", ""),
        message=status.get("Message", ""),
        error=status.get("Err", ""),
        container_id=(status.get("ContainerStatus") or {}).get("ContainerID", ""),
        image=_image({"TaskTemplate": spec}),
        since=parse_engine_time(status.get("Timestamp")),
    )


def tasks(service_id: str) -> list[Task]:
    """The tasks of one service (the engine keeps a few past ones per slot): by slot, newest
    first within a slot.

    Raises NotFound, EngineUnavailable, EngineError.
    """
    with translate_errors():
        client = api()
        listed = client.tasks(filters={"service": service_id})
        hostnames = {
            raw.get("ID", ""): (raw.get("Description") or {}).get("Hostname", "")
            for raw in client.nodes()
        }
    found = [_task(raw, hostnames) for raw in listed]
    found.sort(key=lambda t: t.since.timestamp() if t.since else 0, reverse=True)
    found.sort(key=lambda t: (t.slot is None, t.slot or 0, t.node))
    return found


def open_service_logs(
    service_id: str, *, tail: int | None = 100, follow: bool = True, timestamps: bool = False
) -> LogStream:
    """Open the logs of every task of a service (stdout and stderr, the last `tail` lines
    of each task, then following): Docker's multiplexed frames, one raw stream with a TTY.

    Raises NotFound, EngineUnavailable, EngineError.
    """
    client = api()
    with translate_errors():
        spec = client.inspect_service(service_id).get("Spec") or {}
    tty = bool(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("TTY"))
    params = log_params(tail=tail, follow=follow, timestamps=timestamps)
    with translate_errors():
        # timeout=None: a quiet service must not end a followed stream.
        response = raw_http.get(
            client, "/services/{0}/logs", service_id, params=params, stream=True, timeout=None
        )
    return LogStream(response, multiplexed=not tty)
