"""Volumes: listing, creating, removing, pruning (their sizes: system.disk_usage)."""

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from docker.utils import version_gte

from .client import api, translate_errors
from .types import parse_engine_time

# The engine names anonymous volumes with 64 random hex digits.
ANONYMOUS_NAME_RE = re.compile(r"^[0-9a-f]{64}$")
LOCAL_DRIVER = "local"


@dataclass(frozen=True, slots=True)
class VolumeSummary:
    """One volume of GET /volumes."""

    name: str
    driver: str
    mountpoint: str
    created: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)  # the driver options it was made with

    @property
    def anonymous(self) -> bool:
        return bool(ANONYMOUS_NAME_RE.match(self.name))


def _summary(item: dict) -> VolumeSummary:
    return VolumeSummary(
        name=item["Name"],
        driver=item.get("Driver", ""),
        mountpoint=item.get("Mountpoint", ""),
        created=parse_engine_time(item.get("CreatedAt")),
        labels=item.get("Labels") or {},
        options=item.get("Options") or {},
    )


def list_volumes() -> list[VolumeSummary]:
    """Every volume, sorted by name; one GET /volumes. Raises EngineUnavailable."""
    with translate_errors():
        answer = api().volumes()
    items = (answer or {}).get("Volumes") or ()
    return sorted((_summary(i) for i in items), key=lambda v: v.name)


def inspect_volume(name: str) -> VolumeSummary:
    """One volume. Raises NotFound, EngineUnavailable."""
    with translate_errors():
        return _summary(api().inspect_volume(name))


# A volume driver name is a plugin name ("local", "vieux/sshfs:latest"): never a path. The
# engine turns a legacy plugin's name into a path under /etc/docker/plugins, so anything
# with "..", a leading "/" or odd characters could load a plugin spec from anywhere.
_DRIVER_NAME_RE = re.compile(
    r"^[a-z0-9][a-z0-9_.-]*(?:/[a-z0-9][a-z0-9_.-]*)?(?::[a-zA-Z0-9_.-]+)?$"
)
_DRIVERS_TTL = 30.0  # seconds: plugins are installed by admins on the host, rarely
_drivers_lock = threading.Lock()
_drivers_cache: tuple[float, tuple[str, ...]] | None = None


def volume_drivers() -> tuple[str, ...]:
    """The volume drivers users may choose: `local` and the volume plugins the engine has
    installed and enabled (`docker info`), cached for a few seconds.

    Raises EngineUnavailable.
    """
    global _drivers_cache
    with _drivers_lock:
        cached = _drivers_cache
        if cached is not None and time.monotonic() - cached[0] < _DRIVERS_TTL:
            return cached[1]
    with translate_errors():
        info = api().info()
    names = (info.get("Plugins") or {}).get("Volume") or ()
    drivers = tuple(
        dict.fromkeys(
            [LOCAL_DRIVER, *(n for n in names if _DRIVER_NAME_RE.match(n) and ".." not in n)]
        )
    )
    with _drivers_lock:
        _drivers_cache = (time.monotonic(), drivers)
    return drivers


def create_volume(
    name: str | None = None,
    driver: str = LOCAL_DRIVER,
    driver_opts: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> VolumeSummary:
    """Create a volume (anonymous when `name` is None).

    Raises InvalidRequest (bad name or options), EngineError (e.g. unknown driver),
    EngineUnavailable.
    """
    with translate_errors():
        answer = api().create_volume(
            name=name or None,
            driver=driver or LOCAL_DRIVER,
            driver_opts=driver_opts or None,
            labels=labels or None,
        )
    return _summary(answer)


def remove_volume(name: str) -> None:
    """Remove a volume. Raises NotFound, Conflict (in use), EngineUnavailable."""
    with translate_errors():
        api().remove_volume(name)


def _prune_skips_named() -> bool:
    """Engines from API 1.42 on prune only anonymous volumes unless asked for all."""
    with translate_errors():
        return version_gte(api().api_version, "1.42")


def prune_preview(volumes: list[VolumeSummary], in_use) -> list[VolumeSummary]:
    """Those of `volumes` (the engine's, listed by the caller) a prune offers to delete: the
    unused local ones — not in `in_use` (names of volumes some container mounts) —,
    anonymous ones only on engines that skip named volumes. Their sizes come apart
    (disk_usage). Raises EngineUnavailable.
    """
    users = in_use
    skips_named = _prune_skips_named()
    return [
        volume
        for volume in volumes
        if volume.name not in users
        and volume.driver == LOCAL_DRIVER
        and (volume.anonymous or not skips_named)
    ]
