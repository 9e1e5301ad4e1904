"""Changing a container's settings: recreate it from its own inspected config, safely.

The engine can't change most settings of an existing container, so a "settings change" is a
new container built from the old one's `docker inspect` (Config, HostConfig and every network
endpoint) with only the edited fields replaced. The old container is never lost: it is stopped
and renamed aside until the new one runs, and put back as it was if anything fails.
"""

import contextlib
import copy
import re
from dataclasses import dataclass, field
from decimal import Decimal

import docker.errors

from .client import api, translate_errors
from .errors import GatewayError, InvalidRequest
from .types import CheckedConfig, ContainerDetail, Endpoint, PortSpec, VolumeSpec

# Endpoint settings a user (or compose) chose; the rest of an inspected endpoint is runtime state.
_ENDPOINT_KEYS = ("IPAMConfig", "Links", "Aliases", "DriverOpts")
# Network modes that have no per-network endpoints of their own to recreate.
_SPECIAL_NETWORK_MODES = ("host", "none")


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    name: str = "no"  # no, always, unless-stopped, on-failure
    max_retries: int = 0  # on-failure only; 0 = no limit


@dataclass(frozen=True)
class ContainerSettings:
    """What the Settings tab shows and edits of one container, as `docker inspect` says now.

    Ports and volumes are in `port_key`/`volume_key` order, so a form's values compare equal
    to these when nothing was edited.
    """

    id: str
    name: str
    image: str
    command: tuple[str, ...]
    env: tuple[str, ...]  # KEY=VALUE
    labels: dict[str, str]
    restart_policy: RestartPolicy
    memory: int  # bytes; 0 = no limit
    nano_cpus: int  # 1e9 per CPU; 0 = no limit
    ports: tuple[PortSpec, ...]  # every published port (HostConfig.PortBindings)
    volumes: tuple[VolumeSpec, ...]  # named, anonymous and bind mounts; tmpfs & co. are kept
    tty: bool  # Tty (and OpenStdin)
    networks: tuple[Endpoint, ...]  # by name; aliases without the engine's short-id alias
    # The container's whole create body as it is. Opaque to callers: the host-access policy
    # judges complete configurations (held_host_access), never a selection of fields.
    body: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class SettingsChange:
    """The edited settings; None means "keep what the container has"."""

    name: str | None = None
    env: tuple[str, ...] | None = None
    labels: dict[str, str] | None = None
    restart_policy: RestartPolicy | None = None
    memory: int | None = None  # bytes; 0 = no limit
    nano_cpus: int | None = None  # 1e9 per CPU; 0 = no limit
    ports: tuple[PortSpec, ...] | None = None  # every published port
    # Every named, anonymous and bind mount. An anonymous spec (no name, no bind source) at a
    # path where the old container had an anonymous volume reuses that volume.
    volumes: tuple[VolumeSpec, ...] | None = None
    tty: bool | None = None  # Config.Tty and Config.OpenStdin

    def changed_fields(self) -> list[str]:
        return [f for f in self.__dataclass_fields__ if getattr(self, f) is not None]


# "512m", "1.5g", "1048576", "64mb": digits (ASCII only), an optional fraction, a unit.
_MEMORY_RE = re.compile(r"^(?P<number>[0-9]{1,20}(?:\.[0-9]{1,9})?)\s*(?P<unit>[bkmg]?)b?$")
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
# The engine keeps the limit in an int64.
MEMORY_MAX = 2**63 - 1


def parse_memory(text: str) -> int:
    """ "512m", "1g", "1048576" → bytes; "" or "0" → 0 (no limit). Raises InvalidRequest.

    Parsed here rather than by docker-py, whose float() turns "1e400" into an
    OverflowError and lets "-1" or non-ASCII digits through.
    """
    text = text.strip().lower()
    if text in ("", "0"):
        return 0
    match = _MEMORY_RE.match(text)
    if not match:
        raise InvalidRequest(f"“{text[:40]}” is not a size such as 512m or 1g.")
    value = int(Decimal(match["number"]) * _MEMORY_UNITS[match["unit"]])
    if value <= 0:
        raise InvalidRequest(f"“{text}” is not a size such as 512m or 1g.")
    if value > MEMORY_MAX:
        raise InvalidRequest(f"“{text}” is more memory than the engine can limit to.")
    return value


def _create_body(doc: dict, changes: SettingsChange) -> tuple[dict, list[tuple[str, dict]]]:
    """The POST /containers/create body for the new container, and the extra networks to
    connect afterwards (API 1.41 accepts only one endpoint at create time)."""
    config = copy.deepcopy(doc.get("Config") or {})
    host_config = copy.deepcopy(doc.get("HostConfig") or {})
    short_id = doc["Id"][:12]
    # The engine sets Hostname to the short id unless one was given: a copied short id would
    # name the new container after the old one.
    if config.get("Hostname") == short_id:
        config.pop("Hostname")
    if changes.env is not None:
        config["Env"] = list(changes.env)
    if changes.labels is not None:
        config["Labels"] = dict(changes.labels)
    if changes.restart_policy is not None:
        host_config["RestartPolicy"] = {
            "Name": changes.restart_policy.name,
            "MaximumRetryCount": changes.restart_policy.max_retries,
        }
    if changes.memory is not None:
        host_config["Memory"] = changes.memory
        # The old swap limit was derived from the old memory limit (or is "unlimited", -1):
        # let the engine derive it again rather than keep a value below the new limit.
        if host_config.get("MemorySwap") != -1:
            host_config["MemorySwap"] = 0
    if changes.nano_cpus is not None:
        host_config["NanoCpus"] = changes.nano_cpus
    if changes.tty is not None:
        config["Tty"] = changes.tty
        config["OpenStdin"] = changes.tty
    if changes.ports is not None:
        _apply_ports(doc, config, host_config, changes.ports)
    if changes.volumes is not None:
        _apply_volumes(doc, config, host_config, changes.volumes)
    else:
        _keep_anonymous_volumes(doc, host_config)

    networks = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    mode = host_config.get("NetworkMode") or "default"
    endpoints = []
    if mode not in _SPECIAL_NETWORK_MODES and not mode.startswith("container:"):
        for name, endpoint in networks.items():
            settings = {k: copy.deepcopy(endpoint[k]) for k in _ENDPOINT_KEYS if endpoint.get(k)}
            # The engine adds the short id as an alias on user networks; the new container
            # gets its own.
            aliases = [a for a in settings.get("Aliases") or () if not doc["Id"].startswith(a)]
            settings["Aliases"] = aliases or None
            endpoints.append((name, settings))
        # The network the container was created on goes first (its NetworkMode).
        primary = "bridge" if mode == "default" else mode
        endpoints.sort(key=lambda item: item[0] != primary)
    body = {**config, "HostConfig": host_config}
    if endpoints:
        first_name, first = endpoints[0]
        body["NetworkingConfig"] = {"EndpointsConfig": {first_name: first}}
    return body, endpoints[1:]


def _apply_ports(doc: dict, config: dict, host_config: dict, ports) -> None:
    """Replace the published ports; image-exposed ports the engine merges back itself."""
    old_keys = set((host_config.get("PortBindings") or {}).keys())
    bindings: dict[str, list] = {}
    for port in ports:
        key = f"{port.container_port}/{port.protocol}"
        host_port = "" if port.host_port is None else str(port.host_port)
        bindings.setdefault(key, []).append({"HostIp": port.host_ip, "HostPort": host_port})
    host_config["PortBindings"] = bindings
    exposed = {
        key: value
        for key, value in (config.get("ExposedPorts") or {}).items()
        if key not in old_keys
    }
    exposed.update({key: {} for key in bindings})
    config["ExposedPorts"] = exposed or None


def _apply_volumes(doc: dict, config: dict, host_config: dict, volumes) -> None:
    """Replace every named, anonymous and bind mount by `volumes` (as HostConfig.Mounts);
    other kinds (tmpfs…) stay as they were."""
    old_anonymous = {
        m["Destination"]: m["Name"]
        for m in doc.get("Mounts") or ()
        if m.get("Type") == "volume" and len(m.get("Name") or "") == 64
    }
    mounts = [m for m in host_config.get("Mounts") or () if m.get("Type") not in ("volume", "bind")]
    for volume in volumes:
        if volume.bind_source:
            mount = {"Type": "bind", "Source": volume.bind_source}
        else:
            source = volume.name or old_anonymous.get(volume.destination, "")
            mount = {"Type": "volume", "Source": source}
        mount.update({"Target": volume.destination, "ReadOnly": volume.read_only})
        mounts.append(mount)
    host_config["Mounts"] = mounts or None
    # Binds only ever hold volume and bind mounts: all of them are in `volumes` now.
    host_config["Binds"] = None
    covered = {m.get("Destination") for m in doc.get("Mounts") or ()} | {
        v.destination for v in volumes
    }
    if config.get("Volumes"):
        config["Volumes"] = {
            path: value for path, value in config["Volumes"].items() if path not in covered
        } or None


def _keep_anonymous_volumes(doc: dict, host_config: dict) -> None:
    """Mount the old container's anonymous volumes into the new one by name.

    Named volumes and bind mounts come back through HostConfig.Binds/Mounts unchanged. An
    anonymous volume (an image VOLUME or `-v /path`) is only in Config.Volumes: the engine
    would give the new container a fresh, empty one. Binding the old volume by its name at
    the same path keeps the data; the old container is removed without `v`, so the volume
    survives it (it stays an unnamed-looking volume, now used by the new container).
    """
    taken = set()
    for bind in host_config.get("Binds") or ():
        parts = bind.split(":")
        if len(parts) >= 2:
            taken.add(parts[1])
    for mount in host_config.get("Mounts") or ():
        taken.add(mount.get("Target"))
    extra = []
    for mount in doc.get("Mounts") or ():
        if mount.get("Type") != "volume" or mount.get("Destination") in taken:
            continue
        mode = "rw" if mount.get("RW", True) else "ro"
        extra.append(f"{mount['Name']}:{mount['Destination']}:{mode}")
    if extra:
        host_config["Binds"] = [*(host_config.get("Binds") or []), *extra]


@dataclass(frozen=True)
class RecreatePlan:
    """A recreate worked out but not done: the container as it is now and the body of its
    replacement, for the host-access policy to judge first."""

    doc: dict  # `docker inspect` of the container now
    body: dict  # POST /containers/create body of the replacement
    name: str  # the replacement's name
    extra_networks: tuple[tuple[str, dict], ...]

    @property
    def old_id(self) -> str:
        return self.doc["Id"]

    @property
    def old_name(self) -> str:
        return self.doc.get("Name", "").lstrip("/")

    @property
    def current_body(self) -> dict:
        return _current_body(self.doc)


def _current_body(doc: dict) -> dict:
    """The create body of an inspected container as it is (what it holds before a change)."""
    return _create_body(doc, SettingsChange())[0]


# -- the settings as they are --------------------------------------------------------------------


def port_key(port: PortSpec):
    """The order of ContainerSettings.ports (forms sort what they parse the same way)."""
    return (port.container_port, port.protocol, port.host_port or 0, port.host_ip)


def volume_key(volume: VolumeSpec):
    """The order of ContainerSettings.volumes."""
    return (volume.destination, volume.name, volume.bind_source, volume.read_only)


def settings_of(container: ContainerDetail) -> ContainerSettings:
    """The settings of an inspected container (no engine call: read from the inspect
    document `container` was made of, so they describe exactly the container the page shows).
    """
    doc = container.raw
    config = doc.get("Config") or {}
    host = doc.get("HostConfig") or {}
    policy = host.get("RestartPolicy") or {}
    return ContainerSettings(
        id=doc["Id"],
        name=doc.get("Name", "").lstrip("/"),
        image=config.get("Image", ""),
        command=tuple(config.get("Cmd") or ()),
        env=tuple(config.get("Env") or ()),
        labels=dict(config.get("Labels") or {}),
        restart_policy=RestartPolicy(
            name=policy.get("Name") or "no",
            max_retries=policy.get("MaximumRetryCount") or 0,
        ),
        memory=host.get("Memory") or 0,
        nano_cpus=host.get("NanoCpus") or 0,
        ports=_ports_of(host),
        volumes=_volumes_of(doc),
        tty=bool(config.get("Tty")),
        networks=_networks_of(doc),
        body=_current_body(doc),
    )


def _ports_of(host: dict) -> tuple[PortSpec, ...]:
    ports = []
    for key, bindings in (host.get("PortBindings") or {}).items():
        number, _, protocol = key.partition("/")
        for binding in bindings or [{}]:
            host_port = (binding or {}).get("HostPort") or ""
            ports.append(
                PortSpec(
                    container_port=int(number),
                    protocol=protocol or "tcp",
                    host_port=int(host_port) if host_port else None,
                    host_ip=(binding or {}).get("HostIp") or "",
                )
            )
    return tuple(sorted(ports, key=port_key))


def _volumes_of(doc: dict) -> tuple[VolumeSpec, ...]:
    volumes = []
    for mount in doc.get("Mounts") or ():
        kind, name = mount.get("Type"), mount.get("Name") or ""
        if kind not in ("volume", "bind"):
            continue  # tmpfs and the like are kept as they are, not edited here
        anonymous = kind == "volume" and len(name) == 64
        volumes.append(
            VolumeSpec(
                destination=mount.get("Destination", ""),
                name="" if anonymous or kind == "bind" else name,
                read_only=not mount.get("RW", True),
                bind_source=mount.get("Source", "") if kind == "bind" else "",
            )
        )
    return tuple(sorted(volumes, key=volume_key))


def _networks_of(doc: dict) -> tuple[Endpoint, ...]:
    short_id = doc["Id"][:12]
    return tuple(
        Endpoint(
            network=name,
            network_id=endpoint.get("NetworkID") or "",
            ipv4_address=endpoint.get("IPAddress") or "",
            aliases=tuple(a for a in endpoint.get("Aliases") or () if a != short_id),
        )
        for name, endpoint in sorted(
            ((doc.get("NetworkSettings") or {}).get("Networks") or {}).items()
        )
    )


def bodies_of_volume_users(volume: str) -> list[tuple[str, dict]]:
    """(name, current create body) of every container, running or not, mounting `volume`.

    Raises EngineUnavailable.
    """
    found = []
    with translate_errors():
        client = api()
        for item in client.containers(all=True, filters={"volume": volume}):
            try:
                doc = client.inspect_container(item["Id"])
            except docker.errors.NotFound:
                continue  # removed meanwhile
            found.append((doc.get("Name", "").lstrip("/"), _current_body(doc)))
    return found


def plan(container_id: str, changes: SettingsChange) -> RecreatePlan:
    """Inspect the container and build its replacement with `changes` applied.

    Raises NotFound, InvalidRequest (a --rm container can't be kept aside), EngineUnavailable.
    """
    with translate_errors():
        doc = api().inspect_container(container_id)
    if (doc.get("HostConfig") or {}).get("AutoRemove"):
        raise InvalidRequest(
            "This container is removed by the engine when it stops (--rm): it can't be "
            "stopped and kept aside while its replacement is made."
        )
    body, extra_networks = _create_body(doc, changes)
    name = changes.name or doc.get("Name", "").lstrip("/")
    return RecreatePlan(doc=doc, body=body, name=name, extra_networks=tuple(extra_networks))


def apply(plan: RecreatePlan, config: CheckedConfig) -> str:
    """Replace the planned container by the one the policy approved; returns its id.

    Order, so the original is never lost: stop it, rename it aside
    (`<name>-dockerweb-old-<short id>`), create the new one under the (new) name, connect its
    other networks, start it if the old one was running, and only then remove the old one
    (without its volumes). If any step fails, the new container is removed, the old one gets
    its name back and is started again if it was running, and the error is raised.
    Raises NotFound, Conflict (name in use), InvalidRequest (e.g. limits the engine refuses),
    EngineError (e.g. a port taken), EngineUnavailable.
    """
    client = api()
    old_id, name = plan.old_id, plan.old_name
    state = plan.doc.get("State") or {}
    was_running = bool(state.get("Running"))
    aside = f"{name}-dockerweb-old-{old_id[:12]}"
    renamed = False
    new_id = None
    try:
        with translate_errors():
            if state.get("Paused"):
                client.unpause(old_id)
            if was_running:
                client.stop(old_id)
            client.rename(old_id, aside)
            renamed = True
            new_id = client.create_container_from_config(config.body, config.name)["Id"]
            for network, endpoint in config.extra_networks:
                ipam = endpoint.get("IPAMConfig") or {}
                client.connect_container_to_network(
                    new_id,
                    network,
                    aliases=endpoint.get("Aliases"),
                    links=_links(endpoint.get("Links")),
                    ipv4_address=ipam.get("IPv4Address") or None,
                    ipv6_address=ipam.get("IPv6Address") or None,
                    link_local_ips=ipam.get("LinkLocalIPs") or None,
                    driver_opt=endpoint.get("DriverOpts"),
                )
            if was_running:
                client.start(new_id)
    except GatewayError:
        _restore(client, old_id, name, new_id, renamed=renamed, start=was_running)
        raise
    with translate_errors():
        # v=False: named and anonymous volumes stay (the new container uses them).
        client.remove_container(old_id, v=False)
    return new_id


def _links(links):
    """Inspect shows links as "/target:/me/alias"; connect wants (target, alias)."""
    pairs = []
    for link in links or ():
        target, _, alias = link.partition(":")
        pairs.append((target.lstrip("/"), alias.rsplit("/", 1)[-1] or target.lstrip("/")))
    return pairs or None


def _restore(client, old_id: str, name: str, new_id: str | None, *, renamed: bool, start: bool):
    """Undo a failed recreate as far as possible; errors here must not hide the first one."""
    if new_id is not None:
        with contextlib.suppress(Exception):
            client.remove_container(new_id, force=True)
    if renamed:
        with contextlib.suppress(Exception):
            client.rename(old_id, name)
    if start:
        with contextlib.suppress(Exception):
            client.start(old_id)
