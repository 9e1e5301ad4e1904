"""The engine itself: what it is (`docker info` + `docker version`), what it holds on disk
(`docker system df`), and pruning its build cache record by record.

Plain dataclasses out; the engine's JSON stays here.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime

import requests.exceptions

from . import raw_http
from .client import Connection, api, engine_address, translate_errors
from .errors import EngineUnavailable
from .types import parse_engine_time

UNKNOWN_SIZE = -1  # the engine doesn't measure it (a volume driver other than local)


@dataclass(frozen=True)
class EngineFacts:
    """What `docker version` and `docker info` say about the engine."""

    version: str
    api_version: str
    min_api_version: str
    os: str  # "Debian GNU/Linux 12 (bookworm)"
    os_type: str  # "linux"
    kernel: str
    architecture: str
    cpus: int
    memory: int  # bytes
    storage_driver: str
    root_dir: str
    name: str  # the engine host's name
    containers: int
    images: int
    go_version: str = ""
    git_commit: str = ""


def engine_facts() -> EngineFacts:
    """Two calls (info, version), each with the ordinary timeout.
    Raises EngineUnavailable, EngineError."""
    with translate_errors():
        client = api()
        version = client.version()
        info = client.info()
    return EngineFacts(
        version=version.get("Version") or info.get("ServerVersion") or "",
        api_version=version.get("ApiVersion") or "",
        min_api_version=version.get("MinAPIVersion") or "",
        os=info.get("OperatingSystem") or "",
        os_type=info.get("OSType") or version.get("Os") or "",
        kernel=info.get("KernelVersion") or version.get("KernelVersion") or "",
        architecture=info.get("Architecture") or version.get("Arch") or "",
        cpus=info.get("NCPU") or 0,
        memory=info.get("MemTotal") or 0,
        storage_driver=info.get("Driver") or "",
        root_dir=info.get("DockerRootDir") or "",
        name=info.get("Name") or "",
        containers=info.get("Containers") or 0,
        images=info.get("Images") or 0,
        go_version=version.get("GoVersion") or "",
        git_commit=version.get("GitCommit") or "",
    )


# -- disk usage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UsagePart:
    """One line of `docker system df`: how many, how many in use, bytes, bytes reclaimable
    (computed the way the docker CLI does)."""

    count: int
    active: int
    size: int
    reclaimable: int


@dataclass(frozen=True)
class BuildCacheRecord:
    id: str
    kind: str  # regular, source.local, exec.cachemount…
    description: str
    size: int
    in_use: bool
    shared: bool
    last_used: datetime | None

    @property
    def reclaimable(self) -> bool:
        return not self.in_use and not self.shared


@dataclass(frozen=True)
class DiskUsage:
    images: UsagePart
    containers: UsagePart
    volumes: UsagePart
    build_cache: UsagePart
    volume_sizes: dict[str, int] = field(default_factory=dict)  # name → bytes (-1 unknown)
    container_sizes: dict[str, int] = field(default_factory=dict)  # id → writable layer bytes
    build_records: tuple[BuildCacheRecord, ...] = ()

    @property
    def parts(self) -> list[tuple[str, UsagePart]]:
        return [
            ("images", self.images),
            ("containers", self.containers),
            ("volumes", self.volumes),
            ("build_cache", self.build_cache),
        ]


_ACTIVE_STATES = ("running", "paused", "restarting")


def _images_part(answer: dict) -> UsagePart:
    images = answer.get("Images") or ()
    total = answer.get("LayersSize") or 0
    used = 0
    for image in images:
        size, shared = image.get("Size", -1), image.get("SharedSize", -1)
        if (image.get("Containers") or 0) > 0 and size != -1 and shared != -1:
            used += size - shared
    active = sum(1 for image in images if (image.get("Containers") or 0) > 0)
    return UsagePart(len(images), active, total, max(total - used, 0))


def _containers_part(answer: dict) -> tuple[UsagePart, dict[str, int]]:
    sizes, size, reclaimable, active = {}, 0, 0, 0
    for container in answer.get("Containers") or ():
        rw = container.get("SizeRw") or 0
        sizes[container.get("Id", "")] = rw
        size += rw
        if any(state in (container.get("State") or "") for state in _ACTIVE_STATES):
            active += 1
        else:
            reclaimable += rw
    return UsagePart(len(sizes), active, size, reclaimable), sizes


def _volumes_part(answer: dict) -> tuple[UsagePart, dict[str, int]]:
    sizes, size, reclaimable, active = {}, 0, 0, 0
    for volume in answer.get("Volumes") or ():
        usage = volume.get("UsageData") or {}
        measured = usage.get("Size", UNKNOWN_SIZE)
        sizes[volume["Name"]] = measured
        known = max(measured, 0)
        size += known
        if (usage.get("RefCount") or 0) > 0:
            active += 1
        else:
            reclaimable += known
    return UsagePart(len(sizes), active, size, reclaimable), sizes


def _build_cache(answer: dict) -> tuple[UsagePart, tuple[BuildCacheRecord, ...]]:
    records = tuple(
        BuildCacheRecord(
            id=item.get("ID") or "",
            kind=item.get("Type") or "",
            description=item.get("Description") or "",
            size=item.get("Size") or 0,
            in_use=bool(item.get("InUse")),
            shared=bool(item.get("Shared")),
            last_used=parse_engine_time(item.get("LastUsedAt") or ""),
        )
        for item in answer.get("BuildCache") or ()
    )
    part = UsagePart(
        count=len(records),
        active=sum(1 for r in records if r.in_use),
        size=sum(r.size for r in records if not r.shared),
        reclaimable=sum(r.size for r in records if r.reclaimable),
    )
    return part, records


def disk_usage_of(answer: dict) -> DiskUsage:
    """The summary one `/system/df` answer describes (pure)."""
    containers, container_sizes = _containers_part(answer)
    volumes, volume_sizes = _volumes_part(answer)
    build_cache, records = _build_cache(answer)
    return DiskUsage(
        images=_images_part(answer),
        containers=containers,
        volumes=volumes,
        build_cache=build_cache,
        volume_sizes=volume_sizes,
        container_sizes=container_sizes,
        build_records=records,
    )


def disk_usage(timeout: float | None = None) -> DiskUsage:
    """The engine's disk usage: images, containers, volumes, build cache.

    The engine walks every container, volume and layer for this (seconds on a big or busy
    engine), so pages never call it: they go through disk_usage.py, which shares one query
    and keeps its answer. `timeout`: seconds to wait (default: DOCKER_TIMEOUT).
    Raises EngineUnavailable (also when no answer came within `timeout`), EngineError.
    """
    with translate_errors():
        client = api()
        timeout = client.timeout if timeout is None else timeout
        try:
            # docker-py's df() takes no timeout: the same request with one of its own.
            response = raw_http.get(client, "/system/df", timeout=timeout)
        except requests.exceptions.Timeout as exc:
            raise EngineUnavailable(
                engine_address(), f"no answer to the disk-usage query within {timeout:g} s"
            ) from exc
        answer = response.json()
    return disk_usage_of(answer)


def prune_build_cache_record(record_id: str) -> int:
    """Prune one build-cache record, if unused: bytes reclaimed (0 when it was in use or
    already gone). The engine's prune takes one id per filter, so confirmed records go one
    call each and nothing else is touched. Raises EngineUnavailable, EngineError."""
    with translate_errors():
        answer = api().prune_builds(filters={"id": [record_id]})
    return (answer or {}).get("SpaceReclaimed") or 0


# -- reaching an engine at all (the Engines pages: verification on save, health) ----------


@dataclass(frozen=True)
class EngineProbe:
    """One engine answering: its version, how long a ping took, and for an SSH engine the
    host key its server presented ("ssh-ed25519 AAAA…", pinned when the engine is saved)."""

    version: str
    api_version: str
    latency_ms: float
    host_key: str = ""


def probe(connection: Connection) -> EngineProbe:
    """Connect with `connection`'s own address and material (not the engine in use here),
    then a ping (timed) and a version call, each within the connection's timeout.

    Raises EngineUnavailable (refused, TLS or SSH trust failed, no answer), EngineError,
    InvalidRequest (material that can't be used)."""
    with translate_errors(connection.address):
        client = connection.api()
        started = time.perf_counter()
        client.ping()
        latency_ms = (time.perf_counter() - started) * 1000
        version = client.version()
        host_key = ""
        if connection.ssh is not None:
            from .ssh import presented_host_key  # paramiko only for SSH engines

            host_key = presented_host_key(client)
    return EngineProbe(
        version=version.get("Version") or "",
        api_version=version.get("ApiVersion") or "",
        latency_ms=latency_ms,
        host_key=host_key,
    )
