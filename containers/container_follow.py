"""One engine stream per followed container per process, shared by everyone following it.

The shape the Logs and Stats tabs share (log_fanout.py, stats_fanout.py), so that another
followed stream (a service's logs…) is a subclass saying only what is its own:

- **One shared stream per container and kind, per event loop** (Daphne has one; each async
  test has its own): `Kind.shared(container_id, …)` gives the one open, or opens it. The
  first follower opens it; it stays open while anyone follows and GRACE seconds after the
  last one left (a reload or a tab switched back and forth reuses it).
- **It owns the container's states.** Its run loop looks at the container; in one of
  `streamed_states` it opens the engine stream (`open_stream`, then `started`) and reads it
  in one thread named `<thread_name>-<short id>` (`read`) until the engine ends it. Then it
  looks again to tell why: `stopped` (`stopped_state`), `removed` (then it is finished: no
  new follower joins it, current ones read to the end) or `engine-down`; it waits for
  `poke()` before looking again. Followers' sockets join the container's group and the
  engine's, and poke it on each change (containers/container_socket.py).
- **Entries in order.** What followers read is `entries`, numbered by `seq` from 0 (`head`
  is the next number); each follower keeps its own `cursor` and waits on its `ready` event,
  set whenever an entry is appended. What an entry is and when old ones go is the
  subclass's: bytes with a budget (logs), the last five minutes of samples (stats).
"""

import asyncio
import logging
import weakref
from collections import deque
from typing import Any, ClassVar

from dockerweb import engines, gateway
from dockerweb.threads import start_thread

log = logging.getLogger(__name__)

GRACE = 2.0  # seconds a shared stream stays open after its last follower left

REMOVED = {"type": "state", "state": "removed", "reason": "The container was removed."}


def engine_down(exc: Exception) -> dict:
    return {"type": "state", "state": "engine-down", "reason": str(exc)}


# Per event loop, per kind of stream (its class) and engine, by full container id.
_registries: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, dict]]" = (
    weakref.WeakKeyDictionary()
)


class SharedStream:
    """The engine stream of one container that its followers share. Subclasses set the class
    attributes and implement the hooks below (`open_stream`, `started`, `read`,
    `state_entry`); `wake_reader` when the reader thread can wait for room."""

    thread_name: ClassVar[str]  # "logs": the reader thread is "logs-<short id>"
    stopped_state: ClassVar[dict]  # said while the container is in none of streamed_states
    streamed_states: ClassVar[tuple[str, ...]] = ("running",)
    # Seconds to wait (for a change, at most) after a stream that ended before giving
    # anything (the container stopping as it was opened), so as not to spin on the engine;
    # None: look again at once.
    retry: ClassVar[float | None] = None
    kept: ClassVar[int | None] = None  # the newest entries kept; None: the subclass trims

    def __init__(self, container_id: str):
        self.container_id = container_id
        self.followers: set[StreamFollower] = set()
        self.entries: deque = deque(maxlen=self.kept)
        self.head = 0  # seq of the next entry
        self.state: dict | None = None  # None while nothing was said (or, logs: streaming)
        self.finished = False
        self.changed = asyncio.Event()
        self._registry = self.registry()
        self._loop = asyncio.get_running_loop()
        self._stream = None
        self._closed = False
        self._grace: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None

    @classmethod
    def registry(cls) -> dict[str, Any]:
        """The shared streams of this kind open in this event loop on the current engine, by
        full container id (two engines may hold one id: an engine added twice, a copy)."""
        kinds = _registries.setdefault(asyncio.get_running_loop(), {})
        return kinds.setdefault((cls, engines.current_name()), {})

    @classmethod
    def shared(cls, container_id: str, *args):
        """The shared stream of `container_id` (its full id), opened if none is."""
        registry = cls.registry()
        stream = registry.get(container_id)
        if stream is None:
            stream = registry[container_id] = cls(container_id, *args)
            stream._task = stream._loop.create_task(
                stream._run(), name=f"{cls.thread_name}-fanout-{container_id[:12]}"
            )
        return stream

    # -- hooks
    async def open_stream(self, container):
        """Open the engine stream of `container` (a gateway Container in a streamed state),
        in a thread (open_in_thread). Raises the gateway's errors."""
        raise NotImplementedError

    def started(self, stream) -> None:
        """The stream is open (on the loop): say so to the followers."""

    def read(self, stream) -> bool:
        """The reader thread: read `stream` to its end or until closed, handing what it gives
        to the loop (`_post`); True if it gave anything."""
        raise NotImplementedError

    def state_entry(self, state: dict):
        """The entry that tells followers of a change of state."""
        raise NotImplementedError

    def wake_reader(self) -> None:
        """Wake a reader thread that waits for room: the stream or the whole was closed."""

    # -- followers
    @property
    def first_seq(self) -> int:
        return self.head - len(self.entries)

    def entry(self, seq: int):
        """The entry numbered `seq`, or None if it is no longer kept."""
        index = seq - self.first_seq
        return self.entries[index] if index >= 0 else None

    def add(self, follower: "StreamFollower") -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self.followers.add(follower)

    def remove(self, follower: "StreamFollower") -> None:
        self.followers.discard(follower)
        if not self.followers and not self._closed:
            self._grace = self._loop.call_later(GRACE, self._close_if_idle)

    def poke(self) -> None:
        """Something changed (the container, the engine): look again if not streaming."""
        self.changed.set()

    def _append(self, entry) -> None:
        self.entries.append(entry)
        self.head += 1
        self._wake()

    def _wake(self) -> None:
        for follower in self.followers:
            follower.ready.set()

    def _set_state(self, state: dict | None) -> None:
        if state != self.state:
            self.state = state
            if state is not None:
                self._append(self.state_entry(state))

    # -- the engine stream
    async def _run(self) -> None:
        while True:
            self.changed.clear()
            try:
                container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.container_id
                )
                if container.state in self.streamed_states:
                    stream = await self.open_stream(container)
                    self.started(stream)
                    if not await self._pump(stream) and self.retry is not None:
                        await self._changed_or(self.retry)
                    # The engine ends a followed stream when the container stops or the
                    # engine goes away: look again to tell which (or whether it restarted).
                    continue
                self._set_state(self.stopped_state)
            except gateway.NotFound:
                self._set_state(REMOVED)
                self._finish()
                return
            except gateway.GatewayError as exc:
                self._set_state(engine_down(exc))
            except Exception as exc:  # a bug here must not leave every follower hanging
                log.exception("%s stream of %s failed", self.thread_name, self.container_id[:12])
                self._set_state(engine_down(exc))
            await self.changed.wait()

    async def _changed_or(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.changed.wait(), seconds)
        except TimeoutError:
            pass

    async def _pump(self, stream) -> bool:
        """Read `stream` in its own thread until it ends; True if it gave anything."""
        self._stream = stream
        ended = asyncio.Event()
        gave: list[bool] = []
        start_thread(
            self._read_to_end,
            stream,
            ended,
            gave,
            name=f"{self.thread_name}-{self.container_id[:12]}",
        )
        try:
            await ended.wait()
        finally:
            stream.close()
            self.wake_reader()
            self._stream = None
        return any(gave)

    def _read_to_end(self, stream, ended: asyncio.Event, gave: list[bool]) -> None:
        try:
            gave.append(self.read(stream))
        except Exception:  # never leave the loop waiting for an end that won't come
            log.exception("reading %s of %s failed", self.thread_name, self.container_id[:12])
        finally:
            self._post(ended.set)

    def _post(self, callback, *args) -> bool:
        """Call `callback(*args)` on the loop (from the reader thread); False once the loop
        has closed: nobody is listening any more."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            return False
        return True

    # -- closing
    def _close_if_idle(self) -> None:
        self._grace = None
        if not self.followers:
            self.close()

    def _finish(self) -> None:
        """The container is gone: no new follower joins this; current ones read to the end."""
        self.finished = True
        self._wake()
        if self._registry.get(self.container_id) is self:
            del self._registry[self.container_id]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.wake_reader()
        self._finish()
        if self._stream is not None:
            self._stream.close()
        if self._task is not None:
            self._task.cancel()
        self.entries.clear()


class StreamFollower:
    """One socket following a shared stream from its own `cursor`, woken by `ready`.
    `close()` (idempotent) leaves the shared stream."""

    def __init__(self, shared: SharedStream):
        self.shared = shared
        self.cursor = shared.head  # the next entry to send
        self.ready = asyncio.Event()
        self._closed = False
        shared.add(self)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.shared.remove(self)
