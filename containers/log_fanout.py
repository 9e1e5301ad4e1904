"""One engine log stream per followed container, shared by everyone following it (fan-out).

Before, each log socket opened its own followed engine stream, read in its own thread: 200
people on one container's Logs tab held 200 engine streams and 209 threads. Now, per event
loop (Daphne has one):

- **One shared stream per container** (its lifecycle and states: container_follow.py).
  The first follower opens it; it stays open while anyone follows and GRACE seconds after
  the last one left. It reads in one thread (`logs-<id>`), always with the engine's
  timestamps, and keeps what it read in one bounded buffer of whole frames (whole lines with
  a TTY) that all followers read from at their own pace. When the engine ends the stream it
  says `stopped`, `engine-down` or `removed`, and reopens when the container runs again.
- **Each follower's own tail, then the shared bytes, exactly.** A new follower notes the
  newest time the shared stream has read (the seam; its own clock if it has read nothing)
  and where the buffer ends, reads its own bounded tail with `until=seam` (a short-lived
  non-follow read in a `logs-tail-<id>` thread), then relays the shared bytes from where the
  buffer ended, starting at the first message logged after the seam. The engine ends an
  `until` read at its first message logged later, so the tail and the live bytes meet
  exactly: nothing is shown twice, nothing is missed. The tail can come out shorter than
  asked (the engine takes the last lines first, then drops those after the seam; for a
  chatty container those are the ones that follow live). Lines the engine wrote while the
  shared stream was down (engine away, container restarted) are read again from the time of
  the last one it had, bounded by what a tab keeps (LOG_LINES_KEPT).
- **A slow follower can't hold the others back.** The shared stream reads while its buffer
  (BUFFER_LIMIT) has room or while some follower has read everything and waits for more:
  it goes at the pace of its fastest follower, and with one follower exactly as before (a
  socket past its user's byte budget holds its engine stream back). A follower more than
  BUFFER_LIMIT behind the fastest one loses the oldest bytes it had not sent yet: it is
  moved to the oldest ones still kept and sends `{"type": "skipped", "bytes": n}` first, so
  its page shows that lines are missing there. It is never disconnected.
- Followers who did not ask for timestamps get them cut off, once per chunk however many
  such followers there are; with a TTY a line longer than 16 KB (which the engine logs in
  pieces) may show the time of its next piece in the middle.
"""

import threading
import time
from collections import deque
from collections.abc import AsyncIterator

from django.conf import settings

from dockerweb import gateway
from dockerweb.threads import ByteRelay, open_in_thread, pump_bytes

from .container_follow import REMOVED, SharedStream, StreamFollower, engine_down
from .log_frames import Aligner, logged_after, parse_time, without_times

BUFFER_LIMIT = 1024 * 1024  # bytes kept for followers behind the fastest one
TAKE_LIMIT = 256 * 1024  # the most a follower takes at once: one websocket frame
INBOX_DELAY = 0.02  # seconds the reader's bytes wait to be taken together (< FRAME_INTERVAL)
# The tail a follower reads alone before joining: a few frames' worth read ahead, so a
# socket past its byte budget holds its tail read back too.
TAIL_RELAY_LIMIT = 256 * 1024

STOPPED = {"type": "state", "state": "stopped", "reason": ""}


class _Entry:
    """One chunk of the shared stream (whole frames, with times) or a change of its state."""

    __slots__ = ("seq", "offset", "data", "control", "_plain")

    def __init__(self, seq: int, offset: int, data: bytes = b"", control: dict | None = None):
        self.seq, self.offset, self.data, self.control = seq, offset, data, control
        self._plain: bytes | None = None

    def plain(self, multiplexed: bool) -> bytes:
        if self._plain is None:
            self._plain = without_times(self.data, multiplexed)
        return self._plain


class SharedLog(SharedStream):
    """The followed engine log stream of one container and the followers reading it. Its
    entries are _Entry: whole frames with times, and changes of its state."""

    thread_name = "logs"
    stopped_state = STOPPED

    def __init__(self, container_id: str, multiplexed: bool):
        super().__init__(container_id)
        self.multiplexed = multiplexed
        self.end_offset = 0  # bytes of data appended so far
        self.trimmed_controls: deque[tuple[int, dict]] = deque(maxlen=8)
        self._last_times: dict[int, bytes] = {}  # the newest time read, per output stream
        self._opened_at = time.time_ns()
        # Shared with the reader thread, guarded by _cond (it reads _closed too: close()
        # notifies after setting it, in wake_reader).
        self._cond = threading.Condition()
        self._buffered = 0  # bytes in entries
        self._inbox: list[bytes] = []  # read, not yet taken by the loop
        self._inbox_times: dict[int, bytes] = {}
        self._in_flight = 0  # bytes in the inbox
        self._hungry = 0  # followers that sent everything and wait for more

    # -- followers
    @property
    def first_offset(self) -> int:
        return self.entries[0].offset if self.entries else self.end_offset

    def newest(self) -> int | None:
        """The newest time (ns) of what was read from the engine, if anything was."""
        times = (parse_time(raw) for raw in self._last_times.values())
        return max((t for t in times if t is not None), default=None)

    def remove(self, follower: "Follower") -> None:
        super().remove(follower)
        if not self.followers and not self._closed:
            self._trim()

    def poke(self) -> None:
        super().poke()
        for follower in self.followers:
            follower.poked = True
            follower.ready.set()

    def hungry(self, delta: int) -> None:
        """A follower starts (+1) or stops (-1) waiting for more: the reader may read on."""
        with self._cond:
            self._hungry += delta
            self._cond.notify_all()

    # -- the engine stream
    async def open_stream(self, container):
        newest = self.newest()
        return await open_in_thread(
            gateway.logs.open_log_stream,
            self.container_id,
            # Since the newest line read (or since this shared stream began): what was
            # logged while no stream was open, as much as a tab keeps.
            tail=settings.LOG_LINES_KEPT,
            since_ns=self._opened_at if newest is None else newest + 1,
            timestamps=True,
            tty=container.tty,
        )

    def started(self, stream) -> None:
        self.multiplexed = stream.multiplexed
        self._set_state(None)
        self._append_control({"type": "stream", "multiplexed": stream.multiplexed})

    def read(self, stream) -> bool:
        """The reader thread: engine bytes → whole frames → the loop, within the buffer."""
        aligner = Aligner(stream.multiplexed)
        gave = False
        for piece in stream.pieces():
            data = aligner.feed(piece)
            if data:
                gave = True
                if not self._hand_over(stream, data, aligner.last_times):
                    return gave
        rest = aligner.flush()
        if rest:
            self._hand_over(stream, rest, aligner.last_times)
        return gave or bool(rest)

    def wake_reader(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _hand_over(self, stream, data: bytes, times: dict[int, bytes]) -> bool:
        """Add to the inbox; the loop takes all of it at once (one wake-up, not one a piece)."""
        with self._cond:
            while not self._closed and not stream.closed and self._full():
                self._cond.wait(1.0)
            if self._closed or stream.closed:
                return False
            was_empty = not self._inbox
            self._inbox.append(data)
            self._inbox_times.update(times)
            self._in_flight += len(data)
        return self._post(self._take_inbox_soon) if was_empty else True

    def _full(self) -> bool:
        """No room to read on (called holding _cond): the buffer is full and nobody waits."""
        if self._in_flight >= BUFFER_LIMIT:
            return True  # the loop is behind taking what was read
        return self._buffered + self._in_flight >= BUFFER_LIMIT and not self._hungry

    # -- the buffer (on the loop)
    def _take_inbox_soon(self) -> None:
        # Whatever the reader adds meanwhile comes along: one entry (and one wake-up of
        # every follower) per INBOX_DELAY at most, not one per piece the engine sent.
        self._loop.call_later(INBOX_DELAY, self._take_inbox)

    def _take_inbox(self) -> None:
        with self._cond:
            inbox, self._inbox = self._inbox, []
            times, self._inbox_times = self._inbox_times, {}
            self._buffered += self._in_flight
            self._in_flight = 0
        if self._closed or not inbox:
            return
        self._last_times.update(times)
        data = inbox[0] if len(inbox) == 1 else b"".join(inbox)
        self._append(_Entry(self.head, self.end_offset, data))
        self.end_offset += len(data)
        self._trim()

    def _append_control(self, control: dict) -> None:
        self._append(self.state_entry(control))

    def state_entry(self, state: dict) -> _Entry:
        return _Entry(self.head, self.end_offset, control=state)

    def _trim(self) -> None:
        """Forget what every follower has sent; past BUFFER_LIMIT, the oldest bytes too."""
        entries = self.entries
        dropped = 0
        if self.followers:
            low = min(follower.cursor for follower in self.followers)
            while entries and entries[0].seq < low:
                dropped += self._drop_first()
        with self._cond:
            self._buffered -= dropped
            dropped = 0
            while self._buffered - dropped > BUFFER_LIMIT and len(entries) > 1:
                dropped += self._drop_first()
            self._buffered -= dropped
            self._cond.notify_all()

    def _drop_first(self) -> int:
        entry = self.entries.popleft()
        if entry.control is not None:
            self.trimmed_controls.append((entry.seq, entry.control))
        return len(entry.data)


class Follower(StreamFollower):
    """One socket following a container: its own tail, then the shared stream's bytes.

    Iterate `items()`: bytes to send as they are, or dicts to send as JSON control messages
    (the wire format in consumers.py). `close()` (idempotent) stops the tail read and leaves
    the shared stream.
    """

    shared: SharedLog

    def __init__(self, shared: SharedLog, *, tty: bool, tail: int, timestamps: bool, capped):
        super().__init__(shared)
        self.multiplexed = not tty
        self.tail, self.timestamps, self.capped = tail, timestamps, capped
        self.offset = shared.end_offset
        self.seam: int | None = None  # ns: live bytes start after this time
        self.poked = False
        self.last_sent: dict | None = None  # the last control message sent
        self._tail_stream = None
        self._tail_relay: ByteRelay | None = None

    def announcement(self) -> dict:
        return {
            "type": "stream",
            "multiplexed": self.multiplexed,
            "timestamps": self.timestamps,
            "tail": self.tail,
            "capped": self.capped,
        }

    async def items(self) -> AsyncIterator[bytes | dict]:
        try:
            while True:
                joined = False
                async for item in self._join():
                    if item is None:
                        joined = True
                    else:
                        yield item
                if self.last_sent == REMOVED:
                    return
                if joined:
                    break
                # No tail (the engine is away): wait for the shared stream to say it is back.
                if not await self._wait_for_engine():
                    yield self._sent(REMOVED)
                    return
            async for item in self._live():
                yield item
        finally:
            self.close()

    async def _join(self) -> AsyncIterator[bytes | dict | None]:
        """Note the seam, send the tail read up to it, then the shared state; None if done."""
        shared = self.shared
        self.cursor, self.offset = shared.head, shared.end_offset
        self.seam = shared.newest() or time.time_ns()
        state = shared.state
        stream = None
        if self.tail:
            try:
                stream = await open_in_thread(
                    gateway.logs.open_log_stream,
                    shared.container_id,
                    tail=self.tail,
                    follow=False,
                    until_ns=self.seam,
                    timestamps=self.timestamps,
                    tty=not self.multiplexed,
                )
            except gateway.NotFound:
                yield self._sent(REMOVED)
                return
            except gateway.GatewayError as exc:
                yield self._sent(engine_down(exc))
                return
        yield self._sent(self.announcement())
        if stream is not None:
            async for data in self._relay_tail(stream):
                yield data
            if state is not None and state["state"] == "engine-down":
                shared.poke()  # the engine answered us: the shared stream may open again
        if state is not None and state != self.last_sent:
            yield self._sent(state)
        yield None

    async def _relay_tail(self, stream) -> AsyncIterator[bytes]:
        self._tail_stream = stream
        self._tail_relay = relay = ByteRelay(limit=TAIL_RELAY_LIMIT)
        pump_bytes(stream.pieces(), relay, name=f"logs-tail-{self.shared.container_id[:12]}")
        try:
            while data := await relay.take():
                yield data
        finally:
            relay.close()
            stream.close()
            self._tail_stream = self._tail_relay = None

    async def _wait_for_engine(self) -> bool:
        """After a failed tail read: True to try again, False when the container is gone."""
        shared = self.shared
        while True:
            self.poked = False
            self.cursor = max(self.cursor, shared.first_seq)
            while self.cursor < shared.head:
                entry = self.shared.entry(self.cursor)
                self.cursor += 1
                control = entry.control if entry is not None else None
                if control == REMOVED:
                    return False
                if control is not None and (control["type"] == "stream" or control == STOPPED):
                    return True  # the engine answered the shared stream: it is back
            if self.poked:
                return True
            self.ready.clear()
            await self.ready.wait()

    async def _live(self) -> AsyncIterator[bytes | dict]:
        shared = self.shared
        while True:
            if self.cursor < shared.first_seq:
                for item in self._skip():
                    yield item
            parts, size = [], 0
            while self.cursor < shared.head and size < TAKE_LIMIT:
                entry = self.shared.entry(self.cursor)
                if entry.control is not None:
                    if parts:
                        break  # the bytes before it go first
                    self.cursor += 1
                    message = self._control(entry.control)
                    if message is not None:
                        yield message
                        if message == REMOVED:
                            return
                    continue
                self.cursor += 1
                self.offset = entry.offset + len(entry.data)
                data = self._convert(entry)
                if data:
                    parts.append(data)
                    size += len(data)
            if parts:
                yield b"".join(parts)
                continue
            if shared.finished and self.cursor >= shared.head:
                return
            # Everything sent: wait for more (and say so, so the shared stream reads on).
            self.ready.clear()
            shared.hungry(1)
            try:
                await self.ready.wait()
            finally:
                shared.hungry(-1)

    def _skip(self):
        """Fell more than BUFFER_LIMIT behind: go on from the oldest bytes still kept."""
        shared = self.shared
        missed = [control for seq, control in shared.trimmed_controls if seq >= self.cursor]
        skipped = shared.first_offset - self.offset
        self.cursor, self.offset = shared.first_seq, shared.first_offset
        self.seam = None  # whatever follows is later than this follower's tail
        yield self._sent({"type": "skipped", "bytes": skipped})
        if missed and (message := self._control(missed[-1])) is not None:
            yield message

    def _control(self, control: dict) -> dict | None:
        """The message to send for a change of the shared stream, if any."""
        if control["type"] == "stream":
            if self.last_sent is not None and self.last_sent["type"] == "stream":
                return None  # already announced (its own tail's announcement)
            return self._sent(self.announcement())
        if control == self.last_sent:
            return None
        return self._sent(control)

    def _convert(self, entry: _Entry) -> bytes:
        if self.seam is None:
            return entry.data if self.timestamps else entry.plain(self.multiplexed)
        data, found = logged_after(entry.data, self.multiplexed, self.seam)
        if found:
            self.seam = None
        if not data or self.timestamps:
            return data
        return without_times(data, self.multiplexed)

    def _sent(self, message: dict) -> dict:
        self.last_sent = message
        return message

    def close(self) -> None:
        if self._tail_relay is not None:
            self._tail_relay.close()
        if self._tail_stream is not None:
            self._tail_stream.close()
        super().close()


def registry() -> dict[str, SharedLog]:
    """The shared streams open in this event loop, by full container id."""
    return SharedLog.registry()


def follow(container, *, tail: int, timestamps: bool, capped: bool) -> Follower:
    """A follower of `container` (a gateway Container), sharing its stream with the others."""
    shared = SharedLog.shared(container.id, not container.tty)
    return Follower(shared, tty=container.tty, tail=tail, timestamps=timestamps, capped=capped)
