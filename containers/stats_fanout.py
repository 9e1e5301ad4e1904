"""One engine stats stream per watched container, shared by everyone watching it (fan-out).

The engine sends one small document a second per stats stream; 200 people on one
container's Stats tab must not hold 200 of them. Per event loop (Daphne has one):

- **One shared stream per container** (its lifecycle and states: container_follow.py).
  The first viewer opens it; it stays open while anyone watches and GRACE seconds after the
  last one left (a reload reuses it). It is read in one thread (`stats-<id>`), and each
  sample becomes ONE JSON text (`message_of`) that every viewer sends as it is: the work per
  sample does not grow with the viewers.
- **The last five minutes kept.** The newest KEPT messages stay with the stream, so a new
  viewer's charts start filled (`{"type": "history", "samples": [...]}`), then it gets each
  new sample as it comes. Slow viewers can't hold anyone back: a sample a second is tiny, and
  one that fell more than KEPT samples behind goes on from the oldest one still kept.
- **It owns the container's states.** When the engine ends the stream (engine 20.10 sends
  empty documents for a stopped container instead: that ends it too) it looks at the
  container again and says `stopped`, `removed` or `engine-down` (`{"type": "state", …}`);
  `running` when a stream (re)opens; a container started again is streamed again.
"""

import json
import time
from collections.abc import AsyncIterator

from dockerweb import gateway
from dockerweb.gateway.stats import StatsSample, rates
from dockerweb.threads import open_in_thread

from .container_follow import SharedStream, StreamFollower

KEPT = 300  # samples kept for new viewers: five minutes at the engine's one a second
RETRY = 1.0  # seconds before looking again when a stream ended before its first sample
STREAMED_STATES = ("running", "paused")  # the engine streams stats of these

RUNNING = {"type": "state", "state": "running", "reason": ""}
STOPPED = {
    "type": "state",
    "state": "stopped",
    "reason": "This container isn't running, so it has no stats.",
}


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


class SharedStats(SharedStream):
    """The engine stats stream of one container and the viewers reading it. Its entries are
    (seq, text, is_sample): samples and changes of state, in order, the newest KEPT."""

    thread_name = "stats"
    stopped_state = STOPPED
    streamed_states = STREAMED_STATES
    retry = RETRY
    kept = KEPT

    def __init__(self, container_id: str):
        super().__init__(container_id)
        self.opened = 0  # engine streams opened (tests and the bench count them)
        self._previous: StatsSample | None = None

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    def opening(self) -> list[str]:
        """What a new viewer is sent first: the samples kept, then the current state."""
        samples = [text for _, text, is_sample in self.entries if is_sample]
        texts = [history_text(samples)]
        if self.state is not None:
            texts.append(json.dumps(self.state))
        return texts

    # -- the engine stream
    async def open_stream(self, container):
        return await open_in_thread(gateway.stats.open_stats_stream, self.container_id)

    def started(self, stream) -> None:
        self.opened += 1
        self._previous = None  # a new stream: no rates across the gap
        self._set_state(RUNNING)

    def read(self, stream) -> bool:
        """The reader thread: each sample to the loop, where it becomes the shared message."""
        got = False
        for sample in stream.samples():
            if sample.read_at is None:
                # Engine 20.10 keeps a stopped container's stream open, sending empty
                # documents (no read time) every second: that is its end for us.
                break
            got = True
            if not self._post(self._add, sample):
                break
        return got

    # -- the messages (on the loop)
    def _add(self, sample: StatsSample) -> None:
        if self._closed:
            return
        message = message_of(sample, self._previous, time.time())
        self._previous = sample
        self._append((self.head, json.dumps(message, separators=(",", ":")), True))

    def state_entry(self, state: dict) -> tuple[int, str, bool]:
        return (self.head, json.dumps(state), False)


class Viewer(StreamFollower):
    """One socket watching a container's stats. Iterate `messages()` (JSON texts to send as
    they are); `close()` (idempotent) leaves the shared stream."""

    shared: SharedStats

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
                    _, text, _ = shared.entry(self.cursor)
                    self.cursor += 1
                    yield text
                if shared.finished:
                    return
                self.ready.clear()
                await self.ready.wait()
        finally:
            self.close()


def registry() -> dict[str, SharedStats]:
    """The shared stats streams open in this event loop, by full container id."""
    return SharedStats.registry()


def watch(container_id: str) -> Viewer:
    """A viewer of the container (its full id), sharing its stream with the others."""
    return Viewer(SharedStats.shared(container_id))
