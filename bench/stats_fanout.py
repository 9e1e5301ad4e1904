"""200 viewers of one container's stats against what 200 `docker stats` would hold.

    .venv/bin/python bench/stats_fanout.py

200 stats sockets on one container (websocket clients held by a separate process, against a
real Daphne). The portal reaches the engine through a forwarding socket that reads each
request line (tests/request_proxy.py), so the engine's side is counted: stats streams open
at once and opened in all. Figures of the portal's process idle, with 1 viewer, once all
200 got a live sample, after they left (the shared stream closes a couple of seconds after
the last one), and a second round of 200: those counts, its threads and its resident memory.
Goals: one engine stats stream however many watch; the server's memory per extra viewer
(RSS with 200 − RSS with 1, / 199) at most 0.5 MB. Raw: 200 `docker stats` hold 200 engine
streams.
"""

import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    Result,
    build_image,
    cleanup,
    create_container,
    engine_api,
    exit_cleanly_on_sigterm,
    mb,
    running_portal,
    threads_and_rss,
    wait_for,
)
from tests.request_proxy import RequestProxy  # noqa: E402

VIEWERS = 200
MEMORY_GOAL = 0.5e6  # bytes of the server's memory per extra viewer
VIEWERS_ENV = {  # one user holds them all: lift the per-user and per-process socket caps
    "DOCKERWEB_STREAMS_PER_USER": str(VIEWERS * 2),
    "DOCKERWEB_STREAMS_PER_PROCESS": str(VIEWERS * 2),
}
# Busy enough to have something to show, without taking a CPU from the measurement.
TICKS = "i=0; while true; do i=$((i+1)); echo tick-$i > /tmp/tick; sleep 0.1; done"
STATS_REQUEST = r"/engines/local/containers/[0-9a-f]+/stats\?"


def hold_viewers(url, headers, count, live, stop) -> None:
    """Open `count` stats sockets, each counted in `live` once it got a live sample (a child)."""
    asyncio.run(_hold_viewers(url, headers, count, live, stop))


async def _hold_viewers(url, headers, count, live, stop) -> None:
    from websockets.asyncio.client import connect

    async def watch() -> None:
        async with connect(
            url, additional_headers=headers, max_size=None, ping_interval=None, proxy=None
        ) as socket:
            counted = False
            async for message in socket:
                if not counted and json.loads(message)["type"] == "sample":
                    counted = True
                    with live.get_lock():
                        live.value += 1

    viewers = []
    for _ in range(count):  # opened a few at a time, as people would (not one burst)
        viewers.append(asyncio.create_task(watch()))
        await asyncio.sleep(0.005)
    while not stop.is_set() and not any(v.done() for v in viewers):
        await asyncio.sleep(0.1)
    for viewer in viewers:
        viewer.cancel()
    results = await asyncio.gather(*viewers, return_exceptions=True)
    failed = [r for r in results if isinstance(r, Exception)]  # CancelledError is no Exception
    if failed:
        raise failed[0]


def figures(pid: int, engine: RequestProxy) -> dict:
    threads, rss = threads_and_rss(pid)
    return {
        "streams": engine.open_requests(STATS_REQUEST),
        "opened": engine.requests(STATS_REQUEST),
        "threads": threads,
        "rss": rss,
    }


def run() -> Result:
    print(f"stats_fanout: {VIEWERS} stats sockets on one container")
    api = engine_api()
    spawn = multiprocessing.get_context("spawn")
    engine = RequestProxy(Path(tempfile.mkdtemp(prefix="dockerweb-bench-")) / "engine.sock")
    try:
        build_image(api)
        container_id = create_container(api, ["sh", "-c", TICKS], "stats")
        api.start(container_id)
        engine.start()
        with running_portal({**VIEWERS_ENV, "DOCKER_HOST": engine.address}) as portal:
            http = portal.session()
            url = (
                portal.url.replace("http", "ws", 1)
                + f"/engines/local/ws/containers/{container_id}/stats/"
            )
            headers = {"Cookie": f"sessionid={http.cookies['sessionid']}", "Origin": portal.url}

            def hold(count: int):
                live, stop = spawn.Value("i", 0), spawn.Event()
                child = spawn.Process(
                    target=hold_viewers, args=(url, headers, count, live, stop), daemon=True
                )
                child.start()
                wait_for(lambda: live.value >= count, timeout=180, message=f"{count} viewers")
                return child, stop

            def leave(child, stop, *, last: bool = True) -> None:
                stop.set()
                child.join(timeout=60)
                if not last:
                    return
                # The shared stream closes a couple of seconds after the last viewer left.
                wait_for(
                    lambda: not engine.open_requests(STATS_REQUEST),
                    timeout=30,
                    message="the stats stream to close",
                )

            idle = figures(portal.pid, engine)
            child, stop = hold(1)
            one = figures(portal.pid, engine)
            # The 200 join while the one stays: the extra viewers' memory alone.
            started = time.perf_counter()
            many, many_stop = hold(VIEWERS - 1)
            joined = time.perf_counter() - started
            during = figures(portal.pid, engine)
            leave(many, many_stop, last=False)
            leave(child, stop)
            after = figures(portal.pid, engine)
            # Again: memory kept after the first round is reused, not added to.
            child, stop = hold(VIEWERS)
            again = figures(portal.pid, engine)
            leave(child, stop)
            after_again = figures(portal.pid, engine)
    finally:
        engine.stop()
        cleanup(api)
    rows = (
        ("idle", idle),
        ("1 viewer", one),
        (f"{VIEWERS} viewers", during),
        ("after", after),
        (f"{VIEWERS} again", again),
        ("after again", after_again),
    )
    for label, row in rows:
        print(
            f"  {label:12s}: engine stats streams open {row['streams']} (opened so far "
            f"{row['opened']}), threads {row['threads']}, RSS {mb(row['rss'])}"
        )
    per_viewer = (during["rss"] - one["rss"]) / (VIEWERS - 1)
    per_viewer_again = (again["rss"] - after["rss"]) / VIEWERS
    streams = max(during["streams"], again["streams"])
    print(
        f"  {VIEWERS} viewers live in {joined:.1f} s on {during['streams']} engine stats "
        f"stream(s); raw: {VIEWERS} `docker stats` hold {VIEWERS}"
    )
    print(
        f"  server memory per extra viewer: {per_viewer / 1e3:.0f} kB "
        f"(second round {per_viewer_again / 1e3:.0f} kB); goal ≤ {MEMORY_GOAL / 1e6} MB"
    )
    return Result(
        name="stats_fanout",
        figure=f"{streams} stats stream(s) for {VIEWERS} viewers, {per_viewer / 1e3:.0f} kB/viewer",
        raw=f"{VIEWERS} streams",
        ratio=streams / VIEWERS,
        goal=f"1 stream per container, ≤ {MEMORY_GOAL / 1e6} MB/viewer",
        met=streams == 1 and per_viewer <= MEMORY_GOAL,
        notes=[
            f"threads idle {idle['threads']}, 1 viewer {one['threads']}, {VIEWERS} "
            f"{during['threads']}, after {after['threads']}",
            f"RSS idle {mb(idle['rss'])}, 1 viewer {mb(one['rss'])}, {VIEWERS} "
            f"{mb(during['rss'])}, after {mb(after['rss'])}, again {mb(again['rss'])}, "
            f"after again {mb(after_again['rss'])}",
            f"memory per extra viewer {per_viewer / 1e3:.0f} kB, second round "
            f"{per_viewer_again / 1e3:.0f} kB",
        ],
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"stats_fanout: {result.verdict()}")
