"""Plain dataclasses the gateway returns: no docker-py objects leave this package."""

import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime


def parse_engine_time(value: str | None) -> datetime | None:
    """The engine's RFC 3339 times (nanoseconds, 'Z'); its zero time means 'never'."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        return None


# Containers the portal itself creates (never started) to read and write volume files carry
# this label with a value only the portal can compute (see gateway/portal_helpers.py).
HELPER_LABEL = "dockerweb.helper"
# Labels in this namespace belong to the portal: users can't set them or inherit them.
PORTAL_LABEL_PREFIX = "dockerweb."
# Who had the portal create a container (informational: set by the portal, never trusted).
CREATED_BY_LABEL = "dockerweb.created-by"

# Host IPs meaning "published on every interface" (IPv4 and IPv6).
ALL_INTERFACES = ("0.0.0.0", "::")  # noqa: S104 - compared with, never bound


@dataclass(frozen=True, slots=True)
class PublishedPort:
    container_port: int
    protocol: str
    host_ip: str = ""
    host_port: int | None = None

    @property
    def is_published(self) -> bool:
        return self.host_port is not None

    def __str__(self) -> str:
        if self.host_port is None:
            return f"{self.container_port}/{self.protocol}"
        ip = f"{self.host_ip}:" if self.host_ip and self.host_ip not in ALL_INTERFACES else ""
        return f"{ip}{self.host_port}→{self.container_port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A container's place on one network, as the container listing tells it."""

    network: str  # the network's name
    network_id: str = ""  # empty until the container first started
    ipv4_address: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContainerSummary:
    """One row of the engine's container listing (GET /containers/json)."""

    id: str
    name: str
    image: str
    command: str
    created: datetime
    state: str  # created, running, paused, restarting, removing, exited, dead
    # The engine's human text: "Up 3 minutes", "Exited (0) 2 hours ago". Not compared: the
    # same state listed a second later reads differently, and that is no change.
    status: str = field(compare=False)
    ports: tuple[PublishedPort, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    image_id: str = ""
    volumes: tuple[str, ...] = ()  # names of the volumes it mounts
    endpoints: tuple[Endpoint, ...] = ()
    # When the state the status text describes began (from "Up 3 minutes" and the time of
    # the listing), so a page rendered later can still say how long: the text alone goes stale.
    state_since: datetime | None = field(default=None, compare=False)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def is_running(self) -> bool:
        return self.state in ("running", "restarting")


@dataclass(frozen=True, slots=True)
class MountInfo:
    type: str  # volume, bind, tmpfs
    destination: str
    source: str = ""
    name: str = ""  # volume name for type=volume
    read_only: bool = False
    anonymous: bool = False


@dataclass(frozen=True, slots=True)
class NetworkAttachment:
    name: str
    ip_address: str = ""
    gateway: str = ""
    aliases: tuple[str, ...] = ()


# The engine's grace period between SIGTERM and SIGKILL when a container names none.
DEFAULT_STOP_TIMEOUT = 10


@dataclass(frozen=True, slots=True)
class ContainerDetail:
    """What `docker inspect` says of one container, plus the raw document for the Inspect tab."""

    id: str
    name: str
    image: str
    image_id: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...]
    created: datetime | None
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    error: str
    restart_policy: str
    tty: bool
    ports: tuple[PublishedPort, ...]
    mounts: tuple[MountInfo, ...]
    networks: tuple[NetworkAttachment, ...]
    labels: dict[str, str]
    env: tuple[tuple[str, str], ...]
    raw: dict
    # Seconds a stop waits after SIGTERM before SIGKILL (its own StopTimeout; the engine's 10 s).
    stop_timeout: int = DEFAULT_STOP_TIMEOUT

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def command_line(self) -> str:
        """Entrypoint and command, quoted only where an argument holds spaces or quotes."""
        return " ".join(_readable_quote(arg) for arg in self.entrypoint + self.command)

    @property
    def is_running(self) -> bool:
        return self.state in ("running", "restarting")


def _readable_quote(arg: str) -> str:
    # shlex.quote alone turns an argument holding a quote into '"'"' soup.
    if arg and not any(c in arg for c in " \t\n'\"$`\\;&|<>()*?#~"):
        return arg
    if "'" not in arg:
        return f"'{arg}'"
    if not any(c in arg for c in '"$`\\'):
        return f'"{arg}"'
    return shlex.quote(arg)


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One message of the engine's events stream."""

    type: str  # container, image, volume, network…
    action: str  # start, die, destroy, health_status: healthy…
    id: str
    attributes: dict[str, str]
    time_nano: int


@dataclass(frozen=True, slots=True)
class PortSpec:
    container_port: int
    protocol: str = "tcp"
    host_port: int | None = None  # None: the engine picks a free port
    host_ip: str = ""


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    destination: str
    name: str = ""  # empty: an anonymous volume (or a bind mount)
    read_only: bool = False
    # A bind mount of this host path (already checked by dockerweb.host_access.binds); name is "".
    bind_source: str = ""


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything the "New container" form can ask for, already validated."""

    image: str
    name: str = ""
    command: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    volumes: tuple[VolumeSpec, ...] = ()
    restart_policy: str = "no"
    restart_max_retries: int = 0
    auto_remove: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    # A terminal with stdin held open (Config.Tty + OpenStdin), as Kitematic creates its
    # containers: an image whose default command is a shell keeps running instead of exiting.
    tty: bool = False


@dataclass(frozen=True)
class CheckedConfig:
    """A complete POST /containers/create body that the host-access policy judged for one
    user, with the name and the networks to connect after creating.

    Only dockerweb.host_access makes these, and the gateway creates containers only from
    them: whatever is created is exactly what was judged.
    """

    body: dict
    name: str | None = None
    # (network, endpoint settings) to connect after creating: API 1.41 takes one at create.
    extra_networks: tuple[tuple[str, dict], ...] = ()
