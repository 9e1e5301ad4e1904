"""Containers: listing, inspecting, lifecycle and creation."""

import contextlib
import re
from datetime import UTC, datetime

import docker.errors
import docker.types

from .client import api, translate_errors
from .errors import GatewayError, NotFound
from .portal_helpers import is_listed_helper
from .status_text import state_since
from .types import (
    ALL_INTERFACES,
    DEFAULT_STOP_TIMEOUT,
    CheckedConfig,
    ContainerDetail,
    ContainerSummary,
    Endpoint,
    MountInfo,
    NetworkAttachment,
    PublishedPort,
    RunSpec,
    parse_engine_time,
)

# Volumes the portal creates for a run carry this label, so a failed run removes only them.
CREATED_FOR_RUN_LABEL = "dockerweb.created-for"


def _summary(item: dict, listed_at: datetime | None = None) -> ContainerSummary:
    names = item.get("Names") or [""]
    # Most containers publish nothing: skip building, sorting and deduplicating nothing.
    ports = _ports(item["Ports"]) if item.get("Ports") else ()
    status = item.get("Status", "")
    return ContainerSummary(
        id=item["Id"],
        name=names[0].lstrip("/"),
        image=item.get("Image", ""),
        command=item.get("Command", ""),
        created=datetime.fromtimestamp(item.get("Created", 0), tz=UTC),
        state=item.get("State", ""),
        status=status,
        ports=ports,
        labels=item.get("Labels") or {},
        image_id=item.get("ImageID", ""),
        volumes=tuple(
            m["Name"]
            for m in item.get("Mounts") or ()
            if m.get("Type", "volume") == "volume" and m.get("Name")
        ),
        endpoints=_endpoints(item),
        state_since=state_since(status, listed_at or datetime.now(UTC)),
    )


def _endpoints(item: dict) -> tuple[Endpoint, ...]:
    networks = ((item.get("NetworkSettings") or {}).get("Networks")) or {}
    return tuple(
        Endpoint(
            network=name,
            # A container that never started has no endpoint yet (no NetworkID).
            network_id=settings.get("NetworkID") or "",
            ipv4_address=settings.get("IPAddress") or "",
            aliases=tuple(settings.get("Aliases") or ()),
        )
        for name, settings in sorted(networks.items())
    )


def _ports(items: list[dict]) -> tuple[PublishedPort, ...]:
    ports = sorted(
        (
            PublishedPort(
                container_port=p.get("PrivatePort", 0),
                protocol=p.get("Type", "tcp"),
                host_ip=p.get("IP", ""),
                host_port=p.get("PublicPort"),
            )
            for p in items
        ),
        key=lambda p: (p.container_port, p.protocol, p.host_ip),
    )
    return _dedupe_dual_stack(tuple(ports))


def _dedupe_dual_stack(ports: tuple[PublishedPort, ...]) -> tuple[PublishedPort, ...]:
    # The engine lists a port published on all interfaces twice (0.0.0.0 and ::).
    seen, kept = set(), []
    for port in ports:
        key = (
            port.container_port,
            port.protocol,
            port.host_port,
            port.host_ip in ALL_INTERFACES,
        )
        if port.host_ip in ALL_INTERFACES and key in seen:
            continue
        seen.add(key)
        kept.append(port)
    return tuple(kept)


def list_containers(*, all: bool = True, running_only: bool = False) -> list[ContainerSummary]:
    """Every container, newest first, from one GET /containers/json.

    Raises EngineUnavailable, EngineError.
    """
    filters = {"status": ["running"]} if running_only else None
    with translate_errors():
        items = api().containers(all=all and not running_only, filters=filters)
    listed_at = datetime.now(UTC)
    return [_summary(item, listed_at) for item in items if not is_listed_helper(item)]


def get_summary(container_id: str, *, listed_only: bool = False) -> ContainerSummary | None:
    """One container's listing row (by full id), or None if it no longer exists (or, with
    `listed_only`, is one of the portal's helpers, which listings leave out).

    Raises EngineUnavailable, EngineError.
    """
    with translate_errors():
        items = api().containers(all=True, filters={"id": [container_id]})
    # The id filter matches prefixes: take only the container asked for.
    items = [item for item in items if item["Id"] == container_id]
    if not items or (listed_only and is_listed_helper(items[0])):
        return None
    return _summary(items[0])


def get_summaries(container_ids: list[str]) -> dict[str, ContainerSummary]:
    """The listing rows of these containers (full ids), in one call; the ones gone (and
    the portal's helpers) are left out. Keep the list short (a hundred): the ids travel in
    the URL.

    Raises EngineUnavailable, EngineError.
    """
    wanted = set(container_ids)
    with translate_errors():
        items = api().containers(all=True, filters={"id": list(wanted)})
    listed_at = datetime.now(UTC)
    return {
        item["Id"]: _summary(item, listed_at)
        for item in items
        if item["Id"] in wanted and not is_listed_helper(item)
    }


def name_in_use(name: str) -> bool:
    """Whether a container already has exactly this name. Raises EngineUnavailable."""
    with translate_errors():
        # The engine's name filter is a regular expression: a "." in the name must not match "x".
        items = api().containers(all=True, filters={"name": [f"^/{re.escape(name)}$"]})
    return bool(items)


def _split_env(entry: str) -> tuple[str, str]:
    key, _, value = entry.partition("=")
    return key, value


def _detail(doc: dict) -> ContainerDetail:
    config = doc.get("Config") or {}
    state = doc.get("State") or {}
    host_config = doc.get("HostConfig") or {}
    network_settings = doc.get("NetworkSettings") or {}
    policy = host_config.get("RestartPolicy") or {}
    policy_name = policy.get("Name") or "no"
    if policy_name == "on-failure" and policy.get("MaximumRetryCount"):
        policy_name = f"on-failure:{policy['MaximumRetryCount']}"
    ports = []
    for key, bindings in sorted((network_settings.get("Ports") or {}).items()):
        port, _, proto = key.partition("/")
        for binding in bindings or [None]:
            ports.append(
                PublishedPort(
                    container_port=int(port),
                    protocol=proto or "tcp",
                    host_ip=(binding or {}).get("HostIp", ""),
                    host_port=int(binding["HostPort"])
                    if binding and binding.get("HostPort")
                    else None,
                )
            )
    mounts = tuple(
        MountInfo(
            type=m.get("Type", ""),
            destination=m.get("Destination", ""),
            source=m.get("Source", ""),
            name=m.get("Name", ""),
            read_only=not m.get("RW", True),
            # An anonymous volume's name is its 64-hex id.
            anonymous=m.get("Type") == "volume" and len(m.get("Name", "")) == 64,
        )
        for m in doc.get("Mounts") or ()
    )
    networks = tuple(
        NetworkAttachment(
            name=name,
            ip_address=net.get("IPAddress", ""),
            gateway=net.get("Gateway", ""),
            aliases=tuple(a for a in net.get("Aliases") or () if not doc["Id"].startswith(a)),
        )
        for name, net in sorted((network_settings.get("Networks") or {}).items())
    )
    exit_code = state.get("ExitCode")
    return ContainerDetail(
        id=doc["Id"],
        name=doc.get("Name", "").lstrip("/"),
        image=config.get("Image", ""),
        image_id=doc.get("Image", ""),
        command=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        created=parse_engine_time(doc.get("Created")),
        state=state.get("Status", ""),
        started_at=parse_engine_time(state.get("StartedAt")),
        finished_at=parse_engine_time(state.get("FinishedAt")),
        exit_code=exit_code if state.get("Status") in ("exited", "dead") else None,
        error=state.get("Error", ""),
        restart_policy=policy_name,
        tty=bool(config.get("Tty")),
        ports=_dedupe_dual_stack(tuple(ports)),
        mounts=mounts,
        networks=networks,
        labels=config.get("Labels") or {},
        env=tuple(_split_env(e) for e in config.get("Env") or ()),
        raw=doc,
        stop_timeout=_stop_timeout(config),
    )


def _stop_timeout(config: dict) -> int:
    timeout = config.get("StopTimeout")
    return timeout if isinstance(timeout, int) and timeout >= 0 else DEFAULT_STOP_TIMEOUT


def inspect_container(container_id: str) -> ContainerDetail:
    """Everything the engine knows of one container (id or name).

    Raises NotFound, EngineUnavailable, EngineError.
    """
    with translate_errors():
        return _detail(api().inspect_container(container_id))


def inspect_document(container: ContainerDetail, *, hide_env_as: str | None = None) -> dict:
    """The inspect document, as the Inspect tab shows it. With `hide_env_as`, every
    environment value is replaced by that text (the names kept): values may be secrets.
    """
    doc = container.raw
    if hide_env_as is None:
        return doc
    config = doc.get("Config") or {}
    hidden = [f"{entry.partition('=')[0]}={hide_env_as}" for entry in config.get("Env") or ()]
    return {**doc, "Config": {**config, "Env": hidden}} if hidden else doc


def engine_name(container_id: str, fallback: str = "") -> str:
    """The name the engine gave a container (it picks one when none was asked for), or
    `fallback` when it can no longer say (an auto-removed container already gone). Never
    raises: it names what was already done."""
    try:
        with translate_errors():
            return api().inspect_container(container_id)["Name"].lstrip("/")
    except GatewayError:
        return fallback


def start(container_id: str) -> None:
    """Raises NotFound, EngineError (e.g. its port is taken), EngineUnavailable."""
    with translate_errors():
        api().start(container_id)


def stop(container_id: str, timeout: int = 10) -> None:
    """Stop gracefully (SIGTERM, then SIGKILL after `timeout` s). Raises NotFound, EngineUnavailable."""
    with translate_errors():
        api().stop(container_id, timeout=timeout)


def restart(container_id: str, timeout: int = 10) -> None:
    """Raises NotFound, EngineError, EngineUnavailable."""
    with translate_errors():
        api().restart(container_id, timeout=timeout)


def pause(container_id: str) -> None:
    """Raises NotFound, Conflict (not running), EngineUnavailable."""
    with translate_errors():
        api().pause(container_id)


def unpause(container_id: str) -> None:
    """Raises NotFound, Conflict (not paused), EngineUnavailable."""
    with translate_errors():
        api().unpause(container_id)


def kill(container_id: str) -> None:
    """Send SIGKILL. Raises NotFound, Conflict (not running), EngineUnavailable."""
    with translate_errors():
        api().kill(container_id)


def remove(container_id: str, *, force: bool = False, volumes: bool = False) -> None:
    """Remove the container (`force` kills it first; `volumes` also drops its anonymous volumes).

    Raises NotFound, Conflict (running without force), EngineUnavailable.
    """
    with translate_errors():
        api().remove_container(container_id, force=force, v=volumes)


def run_body(spec: RunSpec, *, labels: dict[str, str]) -> dict:
    """The complete POST /containers/create body for `spec` (no engine call beyond agreeing
    the API version), for the host-access policy to judge before anything is created."""
    client = api()
    port_bindings: dict[str, list] = {}
    for port in spec.ports:
        key = f"{port.container_port}/{port.protocol}"
        binding = (port.host_ip, port.host_port) if port.host_ip else port.host_port
        port_bindings.setdefault(key, []).append(binding)
    mounts = [
        docker.types.Mount(
            target=v.destination,
            source=v.bind_source or v.name or None,
            type="bind" if v.bind_source else "volume",
            read_only=v.read_only,
        )
        for v in spec.volumes
    ]
    restart_policy = None
    if spec.restart_policy != "no":
        restart_policy = {"Name": spec.restart_policy}
        if spec.restart_policy == "on-failure":
            restart_policy["MaximumRetryCount"] = spec.restart_max_retries
    with translate_errors():
        host_config = client.create_host_config(
            port_bindings=port_bindings or None,
            mounts=mounts or None,
            restart_policy=restart_policy,
            auto_remove=spec.auto_remove,
        )
        return client.create_container_config(
            image=spec.image,
            command=list(spec.command) or None,
            environment=list(spec.env) or None,
            ports=[(p.container_port, p.protocol) for p in spec.ports] or None,
            labels=labels,
            host_config=host_config,
            tty=spec.tty,
            stdin_open=spec.tty,
        )


def run_checked(config: CheckedConfig, *, volume_labels: dict[str, str]) -> str:
    """Create and start the container the policy approved; returns its id.

    Named volumes it mounts that don't exist yet are created first (local driver, with
    `volume_labels`). All or nothing: if creating or starting fails, the container and the
    volumes created for it are removed again before the error is raised.
    Raises NotFound (image), Conflict (name in use), EngineError (port taken…),
    InvalidRequest, EngineUnavailable.
    """
    client = api()
    created_volumes: list[str] = []
    container_id = None
    try:
        with translate_errors():
            created_volumes = _create_missing_volumes(
                client,
                _named_volumes(config.body),
                {**volume_labels, CREATED_FOR_RUN_LABEL: config.name or config.body["Image"]},
            )
            container_id = client.create_container_from_config(config.body, config.name)["Id"]
            client.start(container_id)
        return container_id
    except GatewayError:
        _undo_run(client, container_id, created_volumes)
        raise


def _named_volumes(body: dict) -> list[str]:
    mounts = (body.get("HostConfig") or {}).get("Mounts") or ()
    return [m["Source"] for m in mounts if m.get("Type") == "volume" and m.get("Source")]


def _create_missing_volumes(client, names: list[str], labels: dict[str, str]) -> list[str]:
    created = []
    for name in names:
        try:
            client.inspect_volume(name)
        except docker.errors.NotFound:
            client.create_volume(name, labels=labels)
            created.append(name)
    return created


def _undo_run(client, container_id: str | None, volumes: list[str]) -> None:
    # Best effort: the engine may be the reason we failed; the original error matters more.
    if container_id:
        with contextlib.suppress(Exception):
            client.remove_container(container_id, force=True, v=True)
    for name in volumes:
        with contextlib.suppress(Exception):
            client.remove_volume(name)


def ensure_exists(container_id: str) -> None:
    """Raises NotFound if the container is gone."""
    if get_summary(container_id) is None:
        raise NotFound(f"No such container: {container_id}")
