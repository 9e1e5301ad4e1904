"""Which portal process publishes an engine's changes, when several share one Redis.

Every process keeps its own live model of each engine it shows (its pages read it), and
every one of them sees each engine event. A browser must get each change once, whichever
process its socket is on: only the process holding the engine's lease publishes its
model's changes to the channel-layer groups (publisher.py); the others read their models
for their pages and drop the changes.

The lease is a Redis key with a TTL (redis-py's Lock: SET NX PX to take it, a script that
checks the token to renew or release it). Its holder renews it every RENEW seconds; it
ends when the holder stops publishing (its last socket closed: released at once) or TTL
seconds after the holder's last renewal (a process killed outright). Every other process
that publishes the engine asks for it every RENEW seconds, so a handover takes at most
TTL + RENEW. The new holder tells every page of the engine to fetch its lists again
(`resync`, as after a reconnect): what changed since the last holder's end went unsaid.
A holder that could not renew stops publishing before its lease can lapse, so two
processes never publish one change.

Without REDIS_URL (one process, the in-memory layer) the process always publishes.
"""

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

from django.conf import settings
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

TTL = 10.0  # seconds a lease lasts without renewal
RENEW = 2.5  # seconds between renewals (holder) or attempts (the others)
# This process, as the lease names it (which process publishes: `redis-cli get <key>`).
TOKEN = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_key(engine_name: str) -> str:
    return f"dockerweb:publisher:{engine_name}"


class Always:
    """One process: it is the publisher."""

    held = True

    async def end(self) -> None:
        return None


class Lease:
    """This process's claim on publishing one engine, kept by a task on the current loop."""

    def __init__(self, engine_name: str, on_gained: Callable[[], Awaitable[None]]):
        self.key = lease_key(engine_name)
        self._on_gained = on_gained
        self._confirmed_at: float | None = None  # time.monotonic() of the last take/renewal
        # Per lease, not per process: each event loop of a process (tests) claims on its own.
        self.token = f"{TOKEN}:{uuid.uuid4().hex[:6]}"
        self._task = asyncio.get_running_loop().create_task(self._keep(), name=self.key)

    @property
    def held(self) -> bool:
        """Held, and surely still: a renewal that failed stops publishing before the lease
        could have lapsed in Redis (and been taken by another process)."""
        confirmed = self._confirmed_at
        return confirmed is not None and time.monotonic() - confirmed < TTL - RENEW

    async def end(self) -> None:
        """Stop publishing; release the lease so another process takes over at once."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def _keep(self) -> None:
        client = Redis.from_url(settings.REDIS_URL, socket_timeout=5.0, socket_connect_timeout=5.0)
        lock = client.lock(self.key, timeout=TTL, thread_local=False)
        mine = False
        try:
            while True:
                try:
                    if mine:
                        was_held = self.held
                        await lock.reacquire()  # the TTL again, if the token is still ours
                        self._confirmed_at = time.monotonic()
                        if not was_held:  # renewals were late: changes went unpublished
                            await self._on_gained()
                    elif await lock.acquire(blocking=False, token=self.token):
                        mine, self._confirmed_at = True, time.monotonic()
                        log.info("publishing %s's changes (lease %s)", self.key, self.token)
                        await self._on_gained()
                except LockError:  # LockNotOwnedError: it lapsed and may be another's now
                    log.warning("lost %s; another process publishes", self.key)
                    mine, self._confirmed_at = False, None
                except (RedisError, OSError) as exc:
                    log.warning("lease %s: %s", self.key, exc)  # `held` runs out by itself
                await asyncio.sleep(RENEW)
        finally:
            self._confirmed_at = None
            if mine:
                try:
                    await lock.release()
                except (LockError, RedisError, OSError) as exc:
                    log.info("lease %s not released (%s): it lapses by itself", self.key, exc)
            await client.aclose()


def lease(engine_name: str, on_gained: Callable[[], Awaitable[None]]) -> Always | Lease:
    """The claim of this process on publishing `engine_name`'s changes, from now until
    `end()`; `on_gained` runs each time this process takes over. Call on the loop that
    publishes."""
    if not getattr(settings, "REDIS_URL", ""):
        return Always()
    return Lease(engine_name, on_gained)
