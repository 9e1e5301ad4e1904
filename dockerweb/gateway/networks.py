"""Networks: listing, inspecting, creating, removing, connecting and disconnecting containers."""

from dataclasses import dataclass, field, replace

import docker.errors
from docker.types import IPAMConfig, IPAMPool

from .client import api, translate_errors
from .errors import Conflict, EngineError

# The engine's own networks: they can't be removed.
PREDEFINED = ("bridge", "host", "none")
# A network's page looks up aliases for at most this many attached containers.
_ALIAS_LOOKUPS = 100


@dataclass(frozen=True, slots=True)
class Attachment:
    """A container on a network, with its addresses and aliases there."""

    container_id: str
    name: str
    ipv4_address: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def short_id(self) -> str:
        return self.container_id[:12]


@dataclass(frozen=True, slots=True)
class Network:
    id: str
    name: str
    driver: str
    scope: str
    internal: bool
    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    containers: tuple[Attachment, ...] = ()

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def container_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.containers)


def _ipam(item: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    configs = ((item.get("IPAM") or {}).get("Config")) or []
    subnets = tuple(c["Subnet"] for c in configs if c.get("Subnet"))
    gateways = tuple(c["Gateway"] for c in configs if c.get("Gateway"))
    return subnets, gateways


def _network(item: dict, containers: tuple[Attachment, ...]) -> Network:
    subnets, gateways = _ipam(item)
    return Network(
        id=item["Id"],
        name=item.get("Name", ""),
        driver=item.get("Driver", ""),
        scope=item.get("Scope", ""),
        internal=bool(item.get("Internal")),
        subnets=subnets,
        gateways=gateways,
        labels=dict(item.get("Labels") or {}),
        containers=containers,
    )


def _attachments_by_network() -> dict[str, list[Attachment]]:
    """Network id (or "name:<name>") → attachments, from one container listing (running or not)."""
    found: dict[str, list[Attachment]] = {}
    for item in api().containers(all=True):
        name = (item.get("Names") or ["/"])[0].lstrip("/")
        networks = ((item.get("NetworkSettings") or {}).get("Networks")) or {}
        for network_name, settings in networks.items():
            # A container that never started has no endpoint yet (no NetworkID): match by name.
            key = settings.get("NetworkID") or f"name:{network_name}"
            found.setdefault(key, []).append(
                Attachment(
                    container_id=item["Id"],
                    name=name,
                    ipv4_address=settings.get("IPAddress") or "",
                    aliases=tuple(settings.get("Aliases") or ()),
                )
            )
    return found


def _attached_to(item: dict, found: dict[str, list[Attachment]]) -> list[Attachment]:
    return found.get(item["Id"], []) + found.get(f"name:{item.get('Name', '')}", [])


def list_networks() -> list[Network]:
    """Every network, by name, with the containers attached to each.

    Raises EngineUnavailable, EngineError.
    """
    with translate_errors():
        items = api().networks()
        attached = _attachments_by_network()
    networks = [
        _network(item, tuple(sorted(_attached_to(item, attached), key=lambda a: a.name)))
        for item in items
    ]
    return sorted(networks, key=lambda n: n.name)


def list_network_records() -> list[Network]:
    """Every network, by name, without its containers (the live model knows those from the
    container listing); one GET /networks. Raises EngineUnavailable, EngineError."""
    with translate_errors():
        items = api().networks()
    return sorted((_network(item, ()) for item in items), key=lambda n: n.name)


def network_record(network: str) -> Network:
    """One network by id or name, without its containers. Raises NotFound, EngineUnavailable."""
    with translate_errors():
        return _network(api().inspect_network(network), ())


def inspect_network(network: str) -> Network:
    """One network by id or name, with its attached containers (running ones, per the engine,
    and stopped ones from the container listing).

    Raises NotFound, EngineUnavailable, EngineError.
    """
    with translate_errors():
        item = api().inspect_network(network)
        attached = {a.container_id: a for a in _attached_to(item, _attachments_by_network())}
    for container_id, info in (item.get("Containers") or {}).items():
        if container_id not in attached:
            address = (info.get("IPv4Address") or "").split("/", 1)[0]
            attached[container_id] = Attachment(container_id, info.get("Name", ""), address)
    with translate_errors():
        # The listings leave aliases out; each attached container's inspect has them.
        for container_id, attachment in list(attached.items())[:_ALIAS_LOOKUPS]:
            try:
                doc = api().inspect_container(container_id)
            except docker.errors.NotFound:
                continue
            settings = (doc.get("NetworkSettings") or {}).get("Networks") or {}
            aliases = (settings.get(item.get("Name", "")) or {}).get("Aliases") or ()
            attached[container_id] = replace(attachment, aliases=tuple(aliases))
    return _network(item, tuple(sorted(attached.values(), key=lambda a: a.name)))


def create_network(
    name: str,
    driver: str = "bridge",
    *,
    subnet: str = "",
    gateway: str = "",
    internal: bool = False,
    labels: dict[str, str] | None = None,
) -> str:
    """Create a network; returns its id.

    Raises Conflict (name taken), InvalidRequest/EngineError (e.g. "Pool overlaps with other
    one on this address space"), EngineUnavailable.
    """
    ipam = None
    if subnet or gateway:
        pool = IPAMPool(subnet=subnet or None, gateway=gateway or None)
        ipam = IPAMConfig(pool_configs=[pool])
    with translate_errors():
        answer = api().create_network(
            name,
            driver=driver,
            ipam=ipam,
            check_duplicate=True,
            internal=internal,
            labels=labels or None,
        )
    return answer["Id"]


def remove_network(network: str) -> None:
    """Remove a network, refused while containers are attached.

    Raises Conflict naming the attached containers (checked first; the engine's own 403
    "has active endpoints" becomes Conflict too), NotFound, EngineUnavailable, EngineError.
    """
    current = inspect_network(network)
    if current.containers:
        raise Conflict(
            f"Network {current.name} is in use by {', '.join(current.container_names)}: "
            "disconnect or remove those containers first."
        )
    try:
        with translate_errors():
            api().remove_network(current.id)
    except EngineError as exc:
        if "active endpoints" in str(exc):
            raise Conflict(f"Network {current.name} is in use: {exc}") from exc
        raise


def connect(
    network: str,
    container: str,
    *,
    aliases: list[str] | tuple[str, ...] = (),
    ipv4_address: str = "",
) -> None:
    """Attach a container to a network, with optional aliases and a static IPv4 address.

    Raises NotFound, Conflict/EngineError (already attached, address in use, ...),
    InvalidRequest, EngineUnavailable.
    """
    with translate_errors():
        api().connect_container_to_network(
            container, network, ipv4_address=ipv4_address or None, aliases=list(aliases) or None
        )


def disconnect(network: str, container: str) -> None:
    """Detach a container from a network.

    Raises NotFound, EngineError (not attached), EngineUnavailable.
    """
    with translate_errors():
        api().disconnect_container_from_network(container, network)
