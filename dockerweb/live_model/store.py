"""What the portal knows of one engine right now, and who to tell when it changes.

No I/O here: `sync.py` fills the model from the engine, views and consumers read it. Reads
and writes come from many threads (Daphne's sync views, the sync thread, actions that
refresh what they changed), so every access holds one lock; reads are dictionary lookups
or a walk over a list sorted once per version.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dockerweb.gateway.images import ImageSummary
from dockerweb.gateway.networks import Network
from dockerweb.gateway.types import ContainerSummary
from dockerweb.gateway.volumes import VolumeSummary

from . import queries

KINDS = ("container", "image", "volume", "network")


@dataclass(frozen=True)
class Change:
    """One thing that changed: `action` is added, changed, removed, or reset (everything of
    every kind may have changed: after a reconnect's new listing)."""

    kind: str  # container, image, volume, network, engine; "" for reset
    key: str  # container/image/network id, volume name
    action: str  # engine: up or down
    obj: Any = None  # the new summary (None when removed); engine: why it is down
    version: int = 0
    # The engine event that led to it: (action, time in ns on the engine's clock), if any.
    cause: tuple[str, int] | None = None


Listener = Callable[[Change], None]


def _used(c: ContainerSummary, kind: str) -> tuple[str, ...]:
    """What of `kind` a container uses: its image id, its volumes' or networks' names."""
    if kind == "image":
        return (c.image_id,)
    if kind == "volume":
        return c.volumes
    if kind == "network":
        return tuple(e.network for e in c.endpoints)
    raise ValueError(kind)


class LiveModel:
    def __init__(self):
        self._lock = threading.RLock()
        self._containers: dict[str, ContainerSummary] = {}
        self._images: dict[str, ImageSummary] = {}
        self._volumes: dict[str, VolumeSummary] = {}
        self._networks: dict[str, Network] = {}
        self._sorted: dict[str, list[ContainerSummary]] = {}
        self._generation = 0
        self._counts: dict[str, int] | None = None
        self._listeners: list[Listener] = []
        self.version = 0
        self.synced = False  # a full listing has been applied
        self.synced_at = 0.0  # time.time() of the last full listing

    # --- reading ----------------------------------------------------------------------

    def containers_page(self, query: queries.ContainerQuery, *, around: str = "") -> queries.Page:
        ordered = self._ordered(query.sort)
        with self._lock:
            counts = self._state_counts()
            total = len(self._containers)
        if query.descending:
            ordered = ordered[::-1]
        return queries.window(ordered, query, total=total, counts=counts, around=around)

    def container(self, container_id: str) -> ContainerSummary | None:
        with self._lock:
            return self._containers.get(container_id)

    def find_container(self, reference: str) -> ContainerSummary | None:
        """By full id, unique id prefix or name, as the engine resolves them."""
        with self._lock:
            if reference in self._containers:
                return self._containers[reference]
            by_name = [c for c in self._containers.values() if c.name == reference]
            if by_name:
                return by_name[0]
            prefixed = [c for c in self._containers.values() if c.id.startswith(reference)]
            return prefixed[0] if len(prefixed) == 1 else None

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                **self._state_counts(),
                "images": len(self._images),
                "volumes": len(self._volumes),
                "networks": len(self._networks),
            }

    def images(self) -> list[ImageSummary]:
        with self._lock:
            images = list(self._images.values())
        return sorted(images, key=lambda i: i.created, reverse=True)

    def image(self, image_id: str) -> ImageSummary | None:
        with self._lock:
            return self._images.get(image_id)

    def volumes(self) -> list[VolumeSummary]:
        with self._lock:
            volumes = list(self._volumes.values())
        return sorted(volumes, key=lambda v: v.name)

    def volume(self, name: str) -> VolumeSummary | None:
        with self._lock:
            return self._volumes.get(name)

    def networks(self) -> list[Network]:
        with self._lock:
            networks = list(self._networks.values())
        return sorted(networks, key=lambda n: n.name)

    def network(self, reference: str) -> Network | None:
        with self._lock:
            if reference in self._networks:
                return self._networks[reference]
            for network in self._networks.values():
                if network.name == reference:
                    return network
        return None

    def usage(self, kind: str, key: str, *, limit: int | None = None) -> tuple[list, int]:
        """Who uses an image (by id), a volume (by name) or a network (by id or name):
        (the first `limit` containers by name, how many there are in all). The portal's
        helpers are never in the model, so never among the users."""
        if kind == "image":
            test = lambda c: c.image_id == key  # noqa: E731
        elif kind == "volume":
            test = lambda c: key in c.volumes  # noqa: E731
        elif kind == "network":
            network = self.network(key)
            names = {key} | ({network.name, network.id} if network else set())
            test = lambda c: any(e.network in names or e.network_id in names for e in c.endpoints)  # noqa: E731
        else:
            raise ValueError(kind)
        users = [c for c in self._ordered("name") if test(c)]
        return (users[:limit] if limit is not None else users), len(users)

    def usage_index(self, kind: str, *, limit: int) -> dict[str, tuple[list[str], int]]:
        """Image id / volume name / network name → (the first `limit` user names by name,
        how many users), from one walk over the containers."""
        index: dict[str, tuple[list[str], int]] = {}
        for c in self._ordered("name"):
            for key in _used(c, kind):
                names, count = index.get(key, ([], 0))
                if len(names) < limit:
                    names.append(c.name)
                index[key] = (names, count + 1)
        return index

    def usage_counts(self, kind: str) -> dict[str, int]:
        """Image id / volume name / network name → how many containers use it."""
        return {key: count for key, (_, count) in self.usage_index(kind, limit=0).items()}

    def _ordered(self, sort: str) -> list[ContainerSummary]:
        # Sorted once per change and sort key: 10,000 summaries sort in a few ms, but a team
        # paging through them shouldn't pay that on every request. Sorted outside the lock,
        # so the events that arrive meanwhile are applied (and reach pages) without waiting.
        with self._lock:
            cached = self._sorted.get(sort)
            if cached is not None:
                return cached
            generation, containers = self._generation, list(self._containers.values())
        ordered = sorted(containers, key=queries.sort_key(sort))
        with self._lock:
            if generation == self._generation:
                self._sorted[sort] = ordered
        return ordered

    def _state_counts(self) -> dict[str, int]:
        if self._counts is None:
            self._counts = queries.state_counts(self._containers.values())
        return self._counts

    # --- writing (the sync thread; actions refreshing what they changed) --------------

    def replace_all(self, containers, images, volumes, networks) -> None:
        with self._lock:
            self._containers = {c.id: c for c in containers}
            self._images = {i.id: i for i in images}
            self._volumes = {v.name: v for v in volumes}
            self._networks = {n.id: n for n in networks}
            self.synced, self.synced_at = True, time.time()
            self._emit(Change("", "", "reset"))

    def forget_all(self) -> None:
        """Drop everything (the engine went away: nothing here can be trusted any more)."""
        with self._lock:
            self._containers, self._images, self._volumes, self._networks = {}, {}, {}, {}
            self.synced = False
            self._emit(Change("", "", "reset"))

    def put_container(self, summary: ContainerSummary, cause=None) -> None:
        self._put("container", self._containers, summary.id, summary, cause)

    def drop_container(self, container_id: str, cause=None) -> None:
        self._drop("container", self._containers, container_id, cause)

    def replace_images(self, images) -> None:
        with self._lock:
            new = {i.id: i for i in images}
            old = self._images
            self._images = new
            for key in old.keys() - new.keys():
                self._emit(Change("image", key, "removed"))
            for key, image in new.items():
                if key not in old:
                    self._emit(Change("image", key, "added", image))
                elif old[key] != image:
                    self._emit(Change("image", key, "changed", image))

    def drop_image(self, image_id: str) -> None:
        self._drop("image", self._images, image_id)

    def put_volume(self, volume: VolumeSummary) -> None:
        self._put("volume", self._volumes, volume.name, volume)

    def drop_volume(self, name: str) -> None:
        self._drop("volume", self._volumes, name)

    def put_network(self, network: Network) -> None:
        self._put("network", self._networks, network.id, network)

    def drop_network(self, reference: str) -> None:
        network = self.network(reference)
        if network is not None:
            self._drop("network", self._networks, network.id)

    def _put(self, kind: str, table: dict, key: str, obj, cause=None) -> None:
        with self._lock:
            old = table.get(key)
            table[key] = obj  # the newest, even when nothing shown differs (status texts)
            if old == obj:
                if kind == "container":
                    self._forget_sorted()  # they hold the summaries themselves
                return
            action = "changed" if old is not None else "added"
            self._emit(Change(kind, key, action, obj, cause=cause))

    def _drop(self, kind: str, table: dict, key: str, cause=None) -> None:
        with self._lock:
            if table.pop(key, None) is not None:
                self._emit(Change(kind, key, "removed", cause=cause))

    def engine_status(self, up: bool, reason: str = "") -> None:
        """Tell listeners the engine came back (`up`) or went away, and why."""
        with self._lock:
            self._emit(Change("engine", "", "up" if up else "down", reason))

    def _forget_sorted(self) -> None:
        self._sorted.clear()
        self._generation += 1  # a sort begun before this doesn't get cached

    # --- telling others -----------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        """`listener(change)` is called, under the model's lock, after every change: it must
        only hand the change on (to a queue, to an event loop), never wait."""
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def listened(self) -> bool:
        with self._lock:
            return bool(self._listeners)

    def _emit(self, change: Change) -> None:
        # Called with the lock held: listeners see changes in the order they were made.
        self.version += 1
        if change.kind in ("container", ""):
            self._forget_sorted()
            self._counts = None
        change = Change(
            change.kind, change.key, change.action, change.obj, self.version, change.cause
        )
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # noqa: BLE001 - a gone listener must not stop the model
                self._listeners.remove(listener)
