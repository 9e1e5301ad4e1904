"""Plain dataclasses of Swarm (nodes, services, tasks) that gateway/swarm.py returns."""

from dataclasses import dataclass, field
from datetime import datetime

AVAILABILITIES = ("active", "pause", "drain")


@dataclass(frozen=True, slots=True)
class SwarmState:
    """What the engine says of its part in a swarm (GET /info)."""

    local_state: str  # inactive, pending, active, error, locked
    is_manager: bool  # a manager answers the swarm calls; a worker refuses them
    node_id: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    hostname: str
    role: str  # manager, worker
    state: str  # ready, down, unknown, disconnected
    availability: str  # active, pause, drain
    labels: dict[str, str]
    engine_version: str
    address: str
    leader: bool
    version: int  # the node's version index: an update must name it

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True, slots=True)
class ServicePort:
    target: int
    published: int | None
    protocol: str
    mode: str  # ingress, host

    def __str__(self) -> str:
        if self.published is None:
            return f"{self.target}/{self.protocol}"
        return f"{self.published}→{self.target}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    image: str
    mode: str  # replicated, global
    replicas: int | None  # desired replicas of a replicated service
    running: int  # running tasks
    desired: int  # tasks the engine wants running
    ports: tuple[ServicePort, ...]
    update_state: str  # "", updating, paused, completed, rollback_started, rollback_…
    update_message: str
    created: datetime | None
    updated: datetime | None
    labels: dict[str, str]
    command: tuple[str, ...]
    env_count: int
    mounts: tuple[str, ...]  # "type source→target[ (ro)]"
    version: int  # the service's version index: an update must name it
    previous_image: str = ""  # the image before the last update ("" when nothing to roll back)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def can_roll_back(self) -> bool:
        return bool(self.previous_image)


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    slot: int | None
    node_id: str
    node: str  # the node's hostname, when known
    desired_state: str
    state: str  # new, pending, assigned, preparing, starting, running, complete, failed, …
    message: str
    error: str
    container_id: str
    image: str
    since: datetime | None

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True, slots=True)
class ServiceMountSpec:
    kind: str  # "volume" (named) or "bind" (a host path)
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class ServicePortSpec:
    target: int
    published: int | None = None  # None: no port on the nodes
    protocol: str = "tcp"


@dataclass(frozen=True, slots=True)
class NewService:
    """Everything the New service form asks for, already validated."""

    image: str
    name: str
    replicas: int = 1
    command: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    ports: tuple[ServicePortSpec, ...] = ()
    mounts: tuple[ServiceMountSpec, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSpecs:
    """A service's spec now and before its last change (request bodies, for the policy to
    judge a change against), read at `version`."""

    id: str
    name: str
    version: int
    current: dict
    previous: dict | None
    previous_image: str = ""


@dataclass(frozen=True)
class CheckedService:
    """A complete service spec (POST /services/create or /services/{id}/update body) that
    the host-access policy judged for one user. Only dockerweb.host_access makes these, and
    the gateway creates and updates services only from them."""

    spec: dict
