"""From an engine event to the browser: start/stop a container 100 times, time each message.

Chromium has the container page open; its own /engines/local/ws/live/ socket is watched (a WebSocket
wrapper installed before the page's scripts run) and every "container" message caused by a
start or die event is stamped on arrival. Latency = arrival − the engine event's timeNano (the
payload's time_nano): same machine, same clock. Events of one container that the live model applies in one batch
make one message (for the later event). The raw figure beside it is the engine's
own event stream read directly by this process (docker-py `events()`), in the same run.
Goal: p95 ≤ 50 ms.

`python bench/event_latency.py --background 1000` first creates 1,000 more (stopped)
containers, so the open page is a big one, as on a busy engine.
"""

import argparse
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.containers_page import create_many  # noqa: E402 - after the sys.path fix-up
from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    Result,
    browser_page,
    build_image,
    cleanup,
    create_container,
    engine_api,
    exit_cleanly_on_sigterm,
    median,
    percentile,
    running_portal,
    wait_for,
)

CYCLES = 100
GOAL_MS = 50.0
ACTIONS = ("start", "die")

# Before any page script: stamp every message the page's live socket receives.
WATCH_LIVE_SOCKET = """
(() => {
  const Native = window.WebSocket;
  window.__live = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes("/engines/local/ws/live/")) {
        this.addEventListener("message", (event) => {
          window.__live.push([performance.timeOrigin + performance.now(), event.data]);
        });
      }
    }
  };
})();
"""

COLLECT = """
(id) => window.__live.map(([at, data]) => [at, JSON.parse(data)])
  .filter(([at, m]) => m.type === "container" && m.id === id)
  .filter(([at, m]) => m.time_nano)
  .map(([at, m]) => ({at, action: m.event, time_nano: m.time_nano}))
"""


class RawEvents:
    """The engine's event stream read directly, for the baseline: (action, timeNano, received ns)."""

    def __init__(self, api, container_id: str):
        self.seen: list[tuple[str, int, int]] = []
        self._stream = api.events(
            decode=True, filters={"type": "container", "container": container_id}
        )
        self._thread = threading.Thread(target=self._read, daemon=True, name="raw-events")
        self._thread.start()

    def _read(self):
        try:
            for event in self._stream:
                self.seen.append((event.get("Action", ""), event["timeNano"], time.time_ns()))
        except Exception:  # noqa: BLE001, S110 - closed from the main thread
            pass

    def close(self):
        self._stream.close()


def clock_skew_ms(page) -> tuple[float, float]:
    """Browser clock − this process's clock (ms), and half the round trip it was measured in."""
    best = None
    for _ in range(5):
        before = time.time() * 1000
        browser = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time() * 1000
        if best is None or after - before < best[1] * 2:
            best = (browser - (before + after) / 2, (after - before) / 2)
    return best


def latencies(pairs) -> list[float]:
    return [(received_ms - time_nano / 1e6) for received_ms, time_nano in pairs]


def run(background: int = 0, goal_ms: float = GOAL_MS, name: str = "event_latency") -> Result:
    extra = f", {background} more containers" if background else ""
    print(
        f"event_latency: {CYCLES} start/stop cycles, Chromium on /engines/local/containers/{extra}"
    )
    api = engine_api()
    raw = None
    try:
        build_image(api)
        if background:
            create_many(api, background)
        # sh as PID 1 ignores SIGTERM unless trapped: this container stops at once.
        container_id = create_container(
            api, ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"], "events"
        )
        with running_portal() as portal, browser_page(portal) as page:
            page.add_init_script(WATCH_LIVE_SOCKET)
            page.goto(f"{portal.url}/engines/local/containers/")
            page.wait_for_function("() => document.body.dataset.live === 'connected'")
            skew, uncertainty = clock_skew_ms(page)
            raw = RawEvents(api, container_id)
            started = time.perf_counter()
            for _ in range(CYCLES):
                api.start(container_id)
                api.stop(container_id, timeout=10)
            cycling = time.perf_counter() - started

            wait_for(
                lambda: sum(1 for a, *_ in raw.seen if a in ACTIONS) >= 2 * CYCLES,
                timeout=30,
                message="the raw events",
            )
            last = max(t for a, t, _ in raw.seen if a in ACTIONS)

            def arrived():
                # The live model applies events in batches: start and die of one container in
                # the same batch make one message (for the later event). Wait for the last.
                got = page.evaluate(COLLECT, container_id)
                return got if any(m["time_nano"] >= last for m in got) else None

            received = wait_for(arrived, timeout=60, interval=0.25, message="all messages")
    finally:
        if raw is not None:
            raw.close()
        cleanup(api)
    # The first message for each event: the live model may confirm it with a second one.
    firsts: dict[int, dict] = {}
    for message in sorted(received, key=lambda m: m["at"]):
        firsts.setdefault(message["time_nano"], message)
    received = list(firsts.values())
    portal_ms = latencies((m["at"], m["time_nano"]) for m in received if m["action"] in ACTIONS)
    raw_ms = latencies((ns / 1e6, t) for a, t, ns in raw.seen if a in ACTIONS)
    p50, p95, worst = median(portal_ms), percentile(portal_ms, 95), max(portal_ms)
    r50, r95, rworst = median(raw_ms), percentile(raw_ms, 95), max(raw_ms)
    print(
        f"  {CYCLES} cycles in {cycling:.1f} s; {len(portal_ms)} start/die messages for "
        f"{2 * CYCLES} events (the rest came together with a later one)"
    )
    print(f"  browser clock − ours: {skew:+.1f} ms (± {uncertainty:.1f}), not corrected")
    print(f"  raw engine events:    p50 {r50:.1f} ms, p95 {r95:.1f} ms, max {rworst:.1f} ms")
    print(f"  portal → browser:     p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {worst:.1f} ms")
    for action in ACTIONS:
        these = latencies((m["at"], m["time_nano"]) for m in received if m["action"] == action)
        print(f"    {action:5s}: p50 {median(these):.1f} ms, p95 {percentile(these, 95):.1f} ms")
    print(f"  ratio p95 portal/raw: {p95 / r95:.1f}; goal p95 ≤ {goal_ms:.0f} ms")
    return Result(
        name=name,
        figure=f"p50 {p50:.0f} / p95 {p95:.0f} / max {worst:.0f} ms",
        raw=f"engine p50 {r50:.1f} / p95 {r95:.1f} ms",
        ratio=p95 / r95 if r95 > 0 else None,
        goal=f"p95 ≤ {goal_ms:.0f} ms",
        met=p95 <= goal_ms,
        notes=[f"clock skew {skew:+.1f} ms"],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--background", type=int, default=0, help="extra stopped containers")
    exit_cleanly_on_sigterm()
    result = run(parser.parse_args().background)
    print(f"event_latency: {result.verdict()}")
