"""Caps on open streaming websockets, per user and per process, and each user's byte budget.

Every streaming socket (container logs and stats, job output, terminals) holds
buffers and a share of the event loop, and a log socket also an engine stream and a reader
thread. Without caps, one person's 200 log tabs took other users' page times from 0.12 s to
several seconds. A streaming consumer mixes in `StreamSlot` and, after its permission check,
calls `if not await self.take_stream_slot(): return` — one line.

When no slot is left the socket is accepted only to tell the page why (a JSON state message)
and closed with CLOSE_TOO_MANY_STREAMS: a refused handshake would look like a network error.
The slot comes back when the consumer's ASGI call returns, so however the socket ends —
closed, the client gone without a close, cancelled by the server, an error — it is freed.

A user's streams also share one ByteBudget (`self.stream_budget`), which senders of bulk
bytes (the log socket) charge: caps alone bound sockets, not what they cost while busy.
"""

import json
import threading
import time
from collections import Counter

from django.conf import settings

CLOSE_TOO_MANY_STREAMS = 4429  # 4000 + HTTP's 429 Too Many Requests
STATE_TOO_MANY = "too-many-streams"


class ByteBudget:
    """A token bucket one user's streams share: `rate` bytes a second, bursts up to `burst`.

    `charge(size)` books bytes already sent and says how long the sender should now wait.
    The bucket may go into debt; each sender waits out the debt it finds, so however many
    sockets a user has, together they average `rate`: the CPU the portal spends relaying
    one user's logs is bounded, and the rest of the process stays for everyone else.
    """

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def charge(self, size: int) -> float:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= size
            return max(0.0, -self._tokens / self.rate)


class StreamSlots:
    """Streaming sockets open in this process, per user and in all; each user's byte budget."""

    def __init__(self):
        self._lock = threading.Lock()
        self._per_user: Counter = Counter()
        self._budgets: dict = {}
        self._total = 0

    def take(self, user_id) -> str:
        """Take a slot for `user_id`: "" when granted, otherwise the reason to show."""
        per_user, per_process = settings.STREAMS_PER_USER, settings.STREAMS_PER_PROCESS
        with self._lock:
            if self._per_user[user_id] >= per_user:
                return (
                    f"You already have {_streams(per_user)} open (logs, stats, terminals, job output), the most "
                    "one person may have. Close some of those tabs, then reload this one."
                )
            if self._total >= per_process:
                return (
                    f"The portal is serving {_streams(per_process)}, the most it serves at "
                    "once. Reload this page in a while."
                )
            self._per_user[user_id] += 1
            self._total += 1
            if user_id not in self._budgets:
                rate = settings.STREAM_BYTES_PER_USER
                self._budgets[user_id] = ByteBudget(rate, burst=rate)
            return ""

    def give_back(self, user_id) -> None:
        with self._lock:
            self._per_user[user_id] -= 1
            if self._per_user[user_id] <= 0:
                del self._per_user[user_id]
                del self._budgets[user_id]
            self._total -= 1

    def budget(self, user_id) -> ByteBudget:
        """The byte budget the user's open streams share (the user must hold a slot)."""
        with self._lock:
            return self._budgets[user_id]

    def held(self, user_id=None) -> int:
        with self._lock:
            return self._total if user_id is None else self._per_user[user_id]


def _streams(count: int) -> str:
    return f"{count} live stream" if count == 1 else f"{count} live streams"


SLOTS = StreamSlots()


class StreamSlot:
    """Mixin for a streaming Channels consumer (list it before the consumer class)."""

    _slot_holder = None  # the user id whose slot this socket holds

    async def take_stream_slot(self) -> bool:
        """Take one of the user's slots; without one, say why in the page and close."""
        user_id = self.scope["user"].pk
        reason = SLOTS.take(user_id)
        if reason:
            await self.accept()
            message = {"type": "state", "state": STATE_TOO_MANY, "reason": reason}
            await self.send(text_data=json.dumps(message))
            await self.close(code=CLOSE_TOO_MANY_STREAMS)
            return False
        self._slot_holder = user_id
        self.stream_budget = SLOTS.budget(user_id)
        return True

    async def __call__(self, scope, receive, send):
        try:
            return await super().__call__(scope, receive, send)
        finally:
            if self._slot_holder is not None:
                SLOTS.give_back(self._slot_holder)
                self._slot_holder = None
