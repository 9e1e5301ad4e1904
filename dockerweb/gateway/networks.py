"""Networks: listing, inspecting, creating, removing, connecting and disconnecting containers.

Which containers are on a network is the live model's to say (from the container listing);
here only what the engine must be asked: a network's own record, the aliases of the few
attached containers a page shows, and, before a removal, the network's users.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import docker.errors
from docker.types import IPAMConfig, IPAMPool

from .client import api, translate_errors
from .errors import Conflict, EngineError

# The engine's own networks: they can't be removed.
PREDEFINED = ("bridge", "host", "none")
# A refused removal names at most this many of the network's users.
_USERS_NAMED = 10


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

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED


def _ipam(item: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    configs = ((item.get("IPAM") or {}).get("Config")) or []
    subnets = tuple(c["Subnet"] for c in configs if c.get("Subnet"))
    gateways = tuple(c["Gateway"] for c in configs if c.get("Gateway"))
    return subnets, gateways


def _network(item: dict) -> Network:
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
    )


def list_network_records() -> list[Network]:
    """Every network, by name, without its containers (the live model knows those from the
    container listing); one GET /networks. Raises EngineUnavailable, EngineError."""
    with translate_errors():
        items = api().networks()
    return sorted((_network(item) for item in items), key=lambda n: n.name)


def network_record(network: str) -> Network:
    """One network by id, id prefix or name. Raises NotFound, EngineUnavailable."""
    with translate_errors():
        return _network(api().inspect_network(network))


def aliases_on(network: str, container_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Container id → its aliases on the network named `network`. The container listing
    leaves aliases out, so this is one inspect per container: callers pass the few they
    show. A container gone meanwhile is left out.

    Raises EngineUnavailable, EngineError.
    """
    found: dict[str, tuple[str, ...]] = {}
    with translate_errors():
        for container_id in container_ids:
            try:
                doc = api().inspect_container(container_id)
            except docker.errors.NotFound:
                continue
            settings = ((doc.get("NetworkSettings") or {}).get("Networks") or {}).get(network)
            aliases = (settings or {}).get("Aliases") or ()
            # The engine adds the short id itself: not an alias anyone chose.
            found[container_id] = tuple(a for a in aliases if not doc["Id"].startswith(a))
    return found


def _users(current: Network) -> list[str]:
    """Names of the containers on a network, running or not, from a listing the engine
    filters by the network's name (a container that never started has no endpoint, so
    only its name ties it to the network)."""
    with translate_errors():
        items = api().containers(all=True, filters={"network": [current.name]})
    names = []
    for item in items:
        settings = ((item.get("NetworkSettings") or {}).get("Networks")) or {}
        # The filter also matches networks whose id starts with this name: keep ours only.
        if current.name in settings:
            names.append((item.get("Names") or ["/"])[0].lstrip("/"))
    return sorted(names)


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
    """Remove a network, refused while containers are attached: the engine itself only
    refuses while running ones are, and a stopped one left behind could not start again.

    Raises Conflict naming the attached containers (checked first; the engine's own 403
    "has active endpoints" becomes Conflict too), NotFound, EngineUnavailable, EngineError.
    """
    current = network_record(network)
    users = _users(current)
    if users:
        named = ", ".join(users[:_USERS_NAMED])
        if len(users) > _USERS_NAMED:
            named += f" and {len(users) - _USERS_NAMED} more"
        raise Conflict(
            f"Network {current.name} is in use by {named}: "
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
