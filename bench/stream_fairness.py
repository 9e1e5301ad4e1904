"""One user at the stream cap on a container printing as fast as it can; another user's pages.

A container runs `yes` (its log rotated at 10 MB so the disk is safe). One user ("streamer")
holds STREAMS log websockets with tail=all, read as fast as they come by a separate process
(so the reading costs this process nothing). Another user ("viewer") meanwhile loads pages
one after the other: the container list, the jobs list and that container's logs page.

Idle and loaded rounds alternate in BLOCKS blocks (machine load from elsewhere hits both
alike); figures are over every page load of a phase. Idle means the same container printing
with nobody streaming: what the portal adds is the question, not what `yes` costs the machine
(a quiet phase before `yes` starts is printed for that). Goal: the viewer's median and p95
page times under load are at most 2 × idle.
"""

import asyncio
import json
import multiprocessing
import sys
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
    median,
    ms,
    percentile,
    running_portal,
    wait_for,
)

STREAMS = 16  # DOCKERWEB_STREAMS_PER_USER's default: one user at the cap
BLOCKS = 3
PHASE_SECONDS = 10.0  # per block and phase: long enough for the streams' steady state
GOAL = 2.0
LINE = "dockerweb stream fairness bench: the same line again and again, as fast as it goes"
STREAMER = ("streamer", "streamer-bench-pw-1")
VIEWER = ("viewer", "viewer-bench-pw-1")
VIEW = ("containers.view_container", "jobs.view_job")


# -- the streamer: its own process ----------------------------------------------------------


def hold_log_sockets(url, headers, count, stop, received, accepted, refused) -> None:
    """Open `count` log sockets and read them until `stop` is set (runs in a child process)."""
    asyncio.run(_hold(url, headers, count, stop, received, accepted, refused))


async def _hold(url, headers, count, stop, received, accepted, refused) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    async def read_one() -> None:
        try:
            async with connect(
                url,
                additional_headers=headers,
                max_size=None,
                ping_interval=None,
                open_timeout=60,
                proxy=None,
            ) as socket:
                with accepted.get_lock():
                    accepted.value += 1
                async for message in socket:
                    if isinstance(message, bytes):
                        with received.get_lock():
                            received.value += len(message)
                    elif json.loads(message).get("state") == "too-many-streams":
                        with refused.get_lock():
                            refused.value += 1
        except (OSError, WebSocketException):
            with refused.get_lock():
                refused.value += 1

    readers = [asyncio.create_task(read_one()) for _ in range(count)]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


class Streamer:
    """The child process holding the log sockets, and what it has received so far."""

    def __init__(self, url: str, cookie: str, origin: str, count: int):
        spawn = multiprocessing.get_context("spawn")
        self.stop = spawn.Event()
        self.received = spawn.Value("q", 0)
        self.accepted = spawn.Value("i", 0)
        self.refused = spawn.Value("i", 0)
        headers = {"Cookie": cookie, "Origin": origin}
        self.process = spawn.Process(
            target=hold_log_sockets,
            args=(url, headers, count, self.stop, self.received, self.accepted, self.refused),
            daemon=True,
        )
        self.count = count

    def __enter__(self):
        self.started = time.perf_counter()
        self.process.start()
        wait_for(
            lambda: self.accepted.value + self.refused.value >= self.count,
            timeout=60,
            message="the streamer's sockets to open",
        )
        wait_for(lambda: self.received.value, timeout=30, message="log bytes to flow")
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.started
        self.bytes = self.received.value  # the tails (tail=all) and what followed
        self.stop.set()
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# -- the viewer -----------------------------------------------------------------------------


def load_pages(http, urls: list[str], seconds: float) -> list[float]:
    """Load every page in turn, again and again, for `seconds`: each page's time."""
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for url in urls:
            started = time.perf_counter()
            response = http.get(url, timeout=120)
            _ = response.content
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return times


def describe(times: list[float]) -> str:
    return f"median {ms(median(times))}, p95 {ms(percentile(times, 95))} ({len(times)} pages)"


def run() -> Result:
    print(f"stream_fairness: {STREAMS} tail=all log sockets of one user vs another user's pages")
    api = engine_api()
    idle, loaded, rates, accepted = [], [], [], []
    try:
        build_image(api)
        printer = create_container(
            api,
            ["yes", LINE],
            "printer",
            host_config=api.create_host_config(
                log_config={"type": "json-file", "config": {"max-size": "10m", "max-file": "2"}}
            ),
        )
        with running_portal() as portal:
            portal.create_user(*STREAMER, VIEW)
            portal.create_user(*VIEWER, VIEW)
            viewer = portal.session(*VIEWER)
            streamer = portal.session(*STREAMER)
            urls = [
                f"{portal.url}/engines/local/containers/",
                f"{portal.url}/engines/local/jobs/",
                f"{portal.url}/engines/local/containers/{printer}/",
            ]
            load_pages(viewer, urls, 1.0)  # warm-up: templates, connections
            quiet = load_pages(viewer, urls, PHASE_SECONDS)
            api.start(printer)
            wait_for(
                lambda: len(api.logs(printer, tail=2000)) > 100_000,
                timeout=30,
                message="the printer to fill its log",
            )
            ws_url = (
                portal.url.replace("http", "ws", 1)
                + f"/engines/local/ws/containers/{printer}/logs/?tail=all"
            )
            cookie = f"sessionid={streamer.cookies['sessionid']}"
            for block in range(BLOCKS):
                idle_block = load_pages(viewer, urls, PHASE_SECONDS)
                with Streamer(ws_url, cookie, portal.url, STREAMS) as held:
                    loaded_block = load_pages(viewer, urls, PHASE_SECONDS)
                idle += idle_block
                loaded += loaded_block
                rates.append(held.bytes / held.elapsed)
                accepted.append(held.accepted.value)
                print(
                    f"  block {block + 1}: idle {ms(median(idle_block))}, "
                    f"loaded {ms(median(loaded_block))} (medians); "
                    f"streamer {held.accepted.value} sockets open, "
                    f"{held.refused.value} refused, {held.bytes / held.elapsed / 1e6:.1f} MB/s"
                )
    finally:
        cleanup(api)
    ratio = median(loaded) / median(idle)
    ratio_p95 = percentile(loaded, 95) / percentile(idle, 95)
    print(f"  quiet (no printer): {describe(quiet)}")
    print(f"  idle  (printer, no streams): {describe(idle)}")
    print(f"  loaded ({STREAMS} streams): {describe(loaded)}")
    print(f"  ratio loaded/idle: median {ratio:.2f}, p95 {ratio_p95:.2f} (goal ≤ {GOAL} both)")
    return Result(
        name="stream_fairness",
        figure=f"loaded {ms(median(loaded))} (p95 {ms(percentile(loaded, 95))})",
        raw=f"idle {ms(median(idle))} (p95 {ms(percentile(idle, 95))})",
        ratio=ratio,
        goal=f"≤ {GOAL} × idle (median, p95)",
        met=ratio <= GOAL and ratio_p95 <= GOAL,
        notes=[
            f"p95 ratio {ratio_p95:.2f}; quiet median {ms(median(quiet))}",
            f"streamer read {median(rates) / 1e6:.1f} MB/s over {min(accepted)}–{max(accepted)} sockets",
        ],
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"stream_fairness: {result.verdict()}")
