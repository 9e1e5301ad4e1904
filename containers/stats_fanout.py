"""One engine stats stream per watched container, shared by everyone watching it (fan-out).

The engine sends one small document a second per stats stream; 200 people on one
container's Stats tab must not hold 200 of them. Per event loop (Daphne has one):

- **One shared stream per container.** The first viewer opens it; it stays open while anyone
  watches and GRACE seconds after the last one left (a reload reuses it). It is read in one
  thread (`stats-<id>`), and each sample becomes ONE JSON text (`message_of`) that every
  viewer sends as it is: the work per sample does not grow with the viewers.
- **The last five minutes kept.** The newest KEPT messages stay with the stream, so a new
  viewer's charts start filled (`{"type": "history", "samples": [...]}`), then it gets each
  new sample as it comes. Slow viewers can't hold anyone back: a sample a second is tiny, and
  one that fell more than KEPT samples behind goes on from the oldest one still kept.
- **It owns the container's states.** When the engine ends the stream (engine 20.10 sends
  empty documents for a stopped container instead: that ends it too) it looks at the
  container again and says `stopped`, `removed` or `engine-down` (`{"type": "state", …}`);
  `running` when a stream (re)opens. Viewers' sockets join the container's group and
  `poke()` it on each change, so a container started again is streamed again.
"""

import asyncio
import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator

from dockerweb import gateway
from dockerweb.gateway.stats import StatsSample, rates
from dockerweb.threads import open_in_thread

log = logging.getLogger(__name__)

GRACE = 2.0  # seconds a shared stream stays open after its last viewer left
KEPT = 300  # samples kept for new viewers: five minutes at the engine's one a second
RETRY = 1.0  # seconds before looking again when a stream ended before its first sample
STREAMED_STATES = ("running", "paused")  # the engine streams stats of these

RUNNING = {"type": "state", "state": "running", "reason": ""}
STOPPED = {
    "type": "state",
    "state": "stopped",
    "reason": "This container isn't running, so it has no stats.",
}
REMOVED = {"type": "state", "state": "removed", "reason": "The container was removed."}


def engine_down(exc: Exception) -> dict:
    return {"type": "state", "state": "engine-down", "reason": str(exc)}


def _rounded(value: float | None, digits: int = 0) -> float | int | None:
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def message_of(sample: StatsSample, previous: StatsSample | None, now: float) -> dict:
    """What the Stats tab draws for one sample (pure): CPU %, memory used and limit (bytes),
    network and block I/O in bytes per second since `previous` (None for the first sample
    of a stream), processes, and the time (s since the epoch; `now` if the engine gave none).
    """
    per_second = rates(previous, sample)
    at = sample.read_at.timestamp() if sample.read_at is not None else now
    return {
        "type": "sample",
        "t": round(at, 3),
        "cpu": _rounded(sample.cpu_percent, 2),
        "mem": sample.memory_used,
        "mem_limit": sample.memory_limit,
        "net_rx": _rounded(per_second and per_second.net_rx),
        "net_tx": _rounded(per_second and per_second.net_tx),
        "blk_read": _rounded(per_second and per_second.block_read),
        "blk_write": _rounded(per_second and per_second.block_write),
        "pids": sample.pids,
    }


def history_text(samples: list[str]) -> str:
    """The history message, joined from sample texts already serialized (not parsed again)."""
    return '{"type": "history", "samples": [' + ", ".join(samples) + "]}"


class SharedStats:
    """The engine stats stream of one container and the viewers reading it."""

    def __init__(self, container_id: str, registry: dict):
        self.container_id = container_id
        self.viewers: set[Viewer] = set()
        # (seq, text, is_sample): samples and changes of state, in order, the newest KEPT.
        self.entries: deque[tuple[int, str, bool]] = deque(maxlen=KEPT)
        self.head = 0  # seq of the next entry
        self.state: dict | None = None  # None until the container was first looked at
        self.finished = False
        self.changed = asyncio.Event()
        self.opened = 0  # engine streams opened (tests and the bench count them)
        self._registry = registry
        self._loop = asyncio.get_running_loop()
        self._previous: StatsSample | None = None
        self._stream = None
        self._closed = False
        self._grace: asyncio.TimerHandle | None = None
        self._task = self._loop.create_task(self._run(), name=f"stats-fanout-{container_id[:12]}")

    @property
    def first_seq(self) -> int:
        return self.head - len(self.entries)

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    # -- viewers
    def add(self, viewer: "Viewer") -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self.viewers.add(viewer)

    def remove(self, viewer: "Viewer") -> None:
        self.viewers.discard(viewer)
        if not self.viewers and not self._closed:
            self._grace = self._loop.call_later(GRACE, self._close_if_idle)

    def poke(self) -> None:
        """Something changed (the container, the engine): look again if not streaming."""
        self.changed.set()

    def opening(self) -> list[str]:
        """What a new viewer is sent first: the samples kept, then the current state."""
        samples = [text for _, text, is_sample in self.entries if is_sample]
        texts = [history_text(samples)]
        if self.state is not None:
            texts.append(json.dumps(self.state))
        return texts

    # -- the engine stream
    async def _run(self) -> None:
        while True:
            self.changed.clear()
            try:
                container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.container_id
                )
                if container.state in STREAMED_STATES:
                    stream = await open_in_thread(
                        gateway.stats.open_stats_stream, self.container_id
                    )
                    self.opened += 1
                    self._set_state(RUNNING)
                    if not await self._pump(stream):
                        # Ended before a single sample (stopping as it was opened): don't
                        # spin on the engine, look again after a change or a moment.
                        await self._changed_or(RETRY)
                    # The engine ends a stats stream when the container stops or the engine
                    # goes away: look again to tell which (or whether it already restarted).
                    continue
                self._set_state(STOPPED)
            except gateway.NotFound:
                self._set_state(REMOVED)
                self._finish()
                return
            except gateway.GatewayError as exc:
                self._set_state(engine_down(exc))
            except Exception as exc:  # a bug here must not leave every viewer hanging
                log.exception("stats stream of %s failed", self.container_id[:12])
                self._set_state(engine_down(exc))
            await self.changed.wait()

    async def _changed_or(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.changed.wait(), seconds)
        except TimeoutError:
            pass

    async def _pump(self, stream) -> bool:
        """Read `stream` in its own thread until it ends; True if it gave any sample."""
        self._stream = stream
        self._previous = None  # a new stream: no rates across the gap
        ended = asyncio.Event()
        got = [0]
        reader = threading.Thread(
            target=self._read,
            args=(stream, ended, got),
            name=f"stats-{self.container_id[:12]}",
            daemon=True,
        )
        reader.start()
        try:
            await ended.wait()
        finally:
            stream.close()
            self._stream = None
        return got[0] > 0

    def _read(self, stream, ended: asyncio.Event, got: list[int]) -> None:
        """The reader thread: each sample to the loop, where it becomes the shared message."""
        try:
            for sample in stream.samples():
                if sample.read_at is None:
                    # Engine 20.10 keeps a stopped container's stream open, sending empty
                    # documents (no read time) every second: that is its end for us.
                    return
                got[0] += 1
                if not self._post(self._add, sample):
                    return
        except Exception:  # never leave the loop waiting for an end that won't come
            log.exception("reading stats of %s failed", self.container_id[:12])
        finally:
            self._post(ended.set)

    def _post(self, callback, *args) -> bool:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            return False
        return True

    # -- the messages (on the loop)
    def _add(self, sample: StatsSample) -> None:
        if self._closed:
            return
        message = message_of(sample, self._previous, time.time())
        self._previous = sample
        self._append(json.dumps(message, separators=(",", ":")), is_sample=True)

    def _append(self, text: str, *, is_sample: bool) -> None:
        self.entries.append((self.head, text, is_sample))
        self.head += 1
        for viewer in self.viewers:
            viewer.ready.set()

    def _set_state(self, state: dict) -> None:
        if state != self.state:
            self.state = state
            self._append(json.dumps(state), is_sample=False)

    # -- closing
    def _close_if_idle(self) -> None:
        self._grace = None
        if not self.viewers:
            self.close()

    def _finish(self) -> None:
        """The container is gone: no new viewer joins this; current ones read to the end."""
        self.finished = True
        for viewer in self.viewers:
            viewer.ready.set()
        if self._registry.get(self.container_id) is self:
            del self._registry[self.container_id]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finish()
        if self._stream is not None:
            self._stream.close()
        self._task.cancel()
        self.entries.clear()


class Viewer:
    """One socket watching a container's stats. Iterate `messages()` (JSON texts to send as
    they are); `close()` (idempotent) leaves the shared stream."""

    def __init__(self, shared: SharedStats):
        self.shared = shared
        self.cursor = shared.head
        self.ready = asyncio.Event()
        self._closed = False
        shared.add(self)

    async def messages(self) -> AsyncIterator[str]:
        shared = self.shared
        try:
            # The opening and the cursor are taken together (no await between): the first
            # live entry is the one after what the opening holds.
            opening, self.cursor = shared.opening(), shared.head
            for text in opening:
                yield text
            while True:
                # Fell more than KEPT entries behind: go on from the oldest one still kept.
                self.cursor = max(self.cursor, shared.first_seq)
                while self.cursor < shared.head:
                    _, text, _ = shared.entries[self.cursor - shared.first_seq]
                    self.cursor += 1
                    yield text
                if shared.finished:
                    return
                self.ready.clear()
                await self.ready.wait()
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.shared.remove(self)


# One registry per event loop: Daphne has one; each async test has its own.
_registries: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedStats]]" = (
    weakref.WeakKeyDictionary()
)


def registry() -> dict[str, SharedStats]:
    """The shared stats streams open in this event loop, by full container id."""
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = {}
    return _registries[loop]


def watch(container_id: str) -> Viewer:
    """A viewer of the container (its full id), sharing its stream with the others."""
    shared_stats = registry()
    shared = shared_stats.get(container_id)
    if shared is None:
        shared = shared_stats[container_id] = SharedStats(container_id, shared_stats)
    return Viewer(shared)
