"""One engine event, two portal processes, many sockets: does each socket get it once, how fast?

Two Daphne processes share a private PostgreSQL and Redis (tests/services.py), as behind a
load balancer. SOCKETS live sockets on each watch one container (`{"watch": [id]}`); the
container is renamed EVENTS times, one rename at a time (a rename is one engine event that
makes exactly one change of the container: one message per socket), and every socket's
messages for it are counted and stamped on arrival. Latency = arrival − the event's timeNano
(same machine, same clock). The raw figure beside it is the engine's own event stream read
directly by this process (docker-py `events()`), in the same run.

Goal: exactly one message per socket per event (one process publishes, through Redis, to
the sockets of both). The latency has no goal of its own here: compare it with
event_latency's (one process, the in-memory layer).
"""

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402 - after the sys.path fix-up

from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    RUN_ID,
    Result,
    build_image,
    cleanup,
    create_container,
    engine_api,
    exit_cleanly_on_sigterm,
    ms,
    percentile,
    running_portal,
)
from tests import services  # noqa: E402 - after the sys.path fix-up
from tests.live_socket import live_path  # noqa: E402 - after the sys.path fix-up

SOCKETS = int(os.environ.get("BENCH_FANOUT_SOCKETS", "50"))  # per process
EVENTS = int(os.environ.get("BENCH_FANOUT_EVENTS", "20"))


class RawEvents:
    """The engine's rename events of one container read directly: {name: arrival ns − timeNano}."""

    def __init__(self, api, container_id: str):
        self.latency_ns: dict[str, int] = {}
        self._stream = api.events(
            decode=True, filters={"type": "container", "container": container_id}
        )
        threading.Thread(target=self._read, daemon=True, name="raw-events").start()

    def _read(self) -> None:
        try:
            for event in self._stream:
                if event.get("Action") == "rename":
                    name = event["Actor"]["Attributes"]["name"]
                    self.latency_ns[name] = time.time_ns() - event["timeNano"]
        except Exception:  # noqa: BLE001, S110 - closed at the end of the run
            pass

    def close(self) -> None:
        self._stream.close()


class Sockets:
    """SOCKETS live sockets on each portal, all watching one container; what they got."""

    def __init__(self, container_id: str):
        self.container_id = container_id
        # socket index → [(arrival ns, message)] of its messages about the container
        self.got: dict[int, list[tuple[int, dict]]] = {}
        self.ready = 0

    async def hold(self, url: str, headers: dict, index: int, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect

        async with connect(
            url, additional_headers=headers, max_size=None, ping_interval=None, proxy=None
        ) as socket:
            await socket.send(json.dumps({"watch": [self.container_id]}))
            self.got[index] = []
            self.ready += 1
            reader = asyncio.ensure_future(self._read(socket, index))
            await stop.wait()
            reader.cancel()

    async def _read(self, socket, index: int) -> None:
        async for text in socket:
            message = json.loads(text)
            if message.get("type") == "container" and message.get("id") == self.container_id:
                self.got[index].append((time.time_ns(), message))

    def renames_of(self, name: str) -> dict[int, list[tuple[int, dict]]]:
        return {
            index: [(at, m) for at, m in got if m.get("event") == "rename" and m["name"] == name]
            for index, got in self.got.items()
        }


async def _drive(api, portals, container_id: str, raw: RawEvents) -> tuple[list, list, Counter]:
    sockets = Sockets(container_id)
    stop = asyncio.Event()
    holders = []
    for number, (portal, sessionid) in enumerate(portals):
        url = portal.url.replace("http", "ws", 1) + live_path()
        headers = {"Cookie": f"sessionid={sessionid}", "Origin": portal.url}
        for i in range(SOCKETS):
            holders.append(
                asyncio.ensure_future(sockets.hold(url, headers, number * SOCKETS + i, stop))
            )
            await asyncio.sleep(0.005)  # a few at a time, as people open pages
    total = SOCKETS * len(portals)
    await _until(lambda: sockets.ready >= total, 120, "every socket to open")
    await _settle_watch(api, container_id, sockets, total)
    latencies, raw_latencies, copies = [], [], Counter()
    # One rename more than measured: a second publisher's copy of a rename would come right
    # behind the first, so once every socket has the next rename, nothing more of it is due.
    for n in range(EVENTS + 1):
        name = f"dwb-{RUN_ID}-fanout-{n}"
        await asyncio.to_thread(api.rename, container_id, name)
        with contextlib.suppress(TimeoutError):
            # Not every time: an engine events stream that broke makes the model list again
            # and say "resync" instead; that rename then counts as missed.
            await _until(
                lambda name=name: all(got for got in sockets.renames_of(name).values()),
                15,
                f"every socket to get rename {n}",
            )
        await _until(lambda name=name: name in raw.latency_ns, 10, "the raw event")
        if n:
            previous = f"dwb-{RUN_ID}-fanout-{n - 1}"
            for got in sockets.renames_of(previous).values():
                copies[len(got)] += 1
                latencies += [at - m["time_nano"] for at, m in got[:1]]
            raw_latencies.append(raw.latency_ns[previous])
    stop.set()
    await asyncio.gather(*holders, return_exceptions=True)
    return latencies, raw_latencies, copies


async def _settle_watch(api, container_id: str, sockets: Sockets, total: int) -> None:
    """Rename until every socket has a message: from then on every socket watches."""
    for attempt in range(50):
        name = f"dwb-{RUN_ID}-fanout-warm-{attempt}"
        await asyncio.to_thread(api.rename, container_id, name)
        try:
            await _until(
                lambda name=name: all(got for got in sockets.renames_of(name).values()),
                3,
                "warm-up",
            )
            return
        except TimeoutError:
            continue
    raise RuntimeError("the sockets never all got a rename")


async def _until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {message}")
        await asyncio.sleep(0.01)


def run() -> Result:
    print(f"multiprocess_fanout: 2 processes × {SOCKETS} sockets, {EVENTS} engine events")
    api = engine_api()
    raw = None
    try:
        build_image(api)
        container_id = create_container(api, ["sleep", "600"], "fanout")
        with services.postgres() as database, services.redis() as redis_url:
            shared = {
                "DATABASE_URL": database,
                "REDIS_URL": redis_url,
                "DOCKERWEB_SECRET_KEY": uuid.uuid4().hex * 2,
                "DOCKERWEB_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            }
            with running_portal(shared) as first, running_portal(shared) as second:
                sessionid = first.session().cookies["sessionid"]
                raw = RawEvents(api, container_id)
                latencies, raw_latencies, copies = asyncio.run(
                    _drive(api, [(first, sessionid), (second, sessionid)], container_id, raw)
                )
    finally:
        if raw is not None:
            raw.close()
        cleanup(api)
    seconds = [ns / 1e9 for ns in latencies]
    raw_seconds = [ns / 1e9 for ns in raw_latencies]
    p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
    raw50, raw95 = percentile(raw_seconds, 50), percentile(raw_seconds, 95)
    deliveries = SOCKETS * 2 * EVENTS
    once = copies[1]
    more = sum(count for number, count in copies.items() if number > 1)
    print(
        f"  {deliveries} deliveries ({SOCKETS * 2} sockets × {EVENTS} events): {once} once, "
        f"{more} more than once, {copies[0]} missed"
    )
    print(
        f"  portal p50 {ms(p50)}, p95 {ms(p95)}; raw engine events p50 {ms(raw50)}, p95 {ms(raw95)}"
    )
    return Result(
        name="multiprocess_fanout",
        figure=f"{once}/{deliveries} once, {more} more; p50 {ms(p50)}, p95 {ms(p95)}",
        raw=f"p50 {ms(raw50)}, p95 {ms(raw95)}",
        ratio=p50 / raw50 if raw50 else None,
        goal="each socket exactly once",
        met=once == deliveries,
        notes=[
            f"2 Daphne processes on PostgreSQL + Redis, {SOCKETS} live sockets each watching "
            f"one container; {EVENTS} renames, latency from the engine's timeNano to arrival; "
            f"copies per delivery {dict(sorted(copies.items()))}"
        ],
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"multiprocess_fanout: {result.verdict()}")
