"""Container logs: the relay against `docker logs`, 200 followers of one container, and a
million lines in the Logs tab.

    .venv/bin/python bench/logs_stream.py [relay] [followers] [million]   (all by default)

**relay** — 200,000 log lines to the browser against `docker logs` of the same lines.
Goal: Chromium receiving the lines over /engines/local/ws/containers/<id>/logs/?tail=200000 — split into
lines with the viewer's own LogReader (static/js/logs.js), not painted —
takes at most 1.25 × `docker logs --tail 200000 <id> > /dev/null`. Both are timed from
before the connection to the last line, 5 runs each, medians; again with timestamps.
This measures the relay itself, so its portal lifts the two bounds that keep a tab and a
user modest (RELAY_ENV): the lines a tab keeps (a log socket sends no more) and the bytes a
second one user's streams share (bench/stream_fairness.py measures what that one buys).

**followers** — 200 log sockets on one container (held by a separate process), against
what 200 `docker logs -f` would hold: 200 engine streams. The portal reaches the engine
through a forwarding socket here (EngineRequests) that reads each request line: so the
engine's side is counted — followed log requests open at once and opened in all, and tail
reads. Figures of the portal's process idle, with 1 follower, once all 200 get live lines,
and after they left (the shared stream closes a few seconds after the last one): those
counts, its threads and its resident memory. Goal: one engine log stream however many
follow.

**million** — the container's Logs tab in Chromium (the real viewer, asking for a million
lines) while the container prints 1,000,000 lines, once with the default byte budget and
once without one (lines as fast as the engine sends them). Figure: the longest the page's
main thread was blocked meanwhile (Long Tasks API; every task over 50 ms is reported),
and the time until the last line showed. Goal: no block over 100 ms.
"""

import asyncio
import multiprocessing
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    Result,
    browser_page,
    build_image,
    cleanup,
    create_container,
    engine_api,
    exit_cleanly_on_sigterm,
    mb,
    median,
    running_portal,
    threads_and_rss,
    wait_for,
)
from tests.socket_proxy import SocketProxy  # noqa: E402

LINES = 200_000
RUNS = 5
GOAL = 1.25
RELAY_ENV = {
    "DOCKERWEB_LOG_LINES_KEPT": str(LINES),
    "DOCKERWEB_STREAM_BYTES_PER_USER": str(1_000_000_000),
}

# Runs in the page: opens its own socket, counts complete lines, resolves when all arrived.
RECEIVE_LINES = """
async ({url, expected, timeoutMs}) => {
  const {LogReader, lineText} = window.DockerwebLogs;
  return await new Promise((resolve, reject) => {
    const started = performance.now();
    let lines = 0, frames = 0, bytes = 0, first = null, last = null;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    const timer = setTimeout(() => { socket.close(); reject(new Error(`timeout: ${lines} lines`)); }, timeoutMs);
    // Lines are cut as the viewer cuts them; like the viewer, only the ones shown are
    // decoded: here the first and the last.
    const onLines = (segment) => {
      if (first === null) first = lineText(segment, segment.first);
      lines += segment.count;
      if (lines >= expected) {
        last = lineText(segment, segment.first + segment.count - 1);
        const elapsed = performance.now() - started;
        clearTimeout(timer);
        socket.onclose = null;
        socket.close();
        resolve({elapsed, lines, frames, bytes, first, last});
      }
    };
    let reader = new LogReader(true, onLines);
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        const msg = JSON.parse(event.data);
        if (msg.type === "stream") reader = new LogReader(msg.multiplexed, onLines);
        return;
      }
      frames += 1;
      bytes += event.data.byteLength;
      reader.push(new Uint8Array(event.data));
    };
    socket.onclose = (event) => {
      clearTimeout(timer);
      reject(new Error(`socket closed (${event.code}) after ${lines} lines`));
    };
  });
}
"""


def time_docker_logs(container_id: str, timestamps: bool) -> float:
    command = [
        "docker",
        "logs",
        "--tail",
        str(LINES),
        *(["-t"] if timestamps else []),
        container_id,
    ]
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def time_browser(page, ws_url: str, timestamps: bool) -> tuple[float, dict]:
    got = page.evaluate(
        RECEIVE_LINES,
        {
            "url": f"{ws_url}?tail={LINES}&timestamps={int(timestamps)}",
            "expected": LINES,
            "timeoutMs": 120_000,
        },
    )
    # The log is `seq 1 200000`: the first and last line say nothing was lost or mangled.
    first, last = got["first"], got["last"]
    if timestamps:
        first, last = first.split(" ", 1)[1], last.split(" ", 1)[1]
    if (first, last, got["lines"]) != ("1", str(LINES), LINES):
        raise RuntimeError(f"browser got a different log: {got}")
    return got["elapsed"] / 1000, got


def run_relay(api) -> Result:
    print(f"logs_stream relay: {LINES} lines, {RUNS} runs each")
    rows = {}
    container_id = create_container(api, ["sh", "-c", f"seq 1 {LINES}; exec sleep 3600"], "logs")
    try:
        api.start(container_id)
        wait_for(
            lambda: api.logs(container_id, tail=1) == f"{LINES}\n".encode(),
            timeout=120,
            interval=0.2,
            message="the container to log all its lines",
        )
        with running_portal(RELAY_ENV) as portal, browser_page(portal) as page:
            page.goto(f"{portal.url}/engines/local/containers/")
            page.add_script_tag(url="/static/js/logs.js")
            ws_url = (
                portal.url.replace("http", "ws", 1)
                + f"/engines/local/ws/containers/{container_id}/logs/"
            )
            for timestamps in (False, True):
                time_docker_logs(container_id, timestamps)  # warm the engine's file cache
                time_browser(page, ws_url, timestamps)
                cli, browser, frames = [], [], []
                for _ in range(RUNS):  # interleaved, so load changes hit both alike
                    cli.append(time_docker_logs(container_id, timestamps))
                    elapsed, got = time_browser(page, ws_url, timestamps)
                    browser.append(elapsed)
                    frames.append(got["frames"])
                rows[timestamps] = (median(cli), median(browser), got["bytes"], median(frames))
    finally:
        api.remove_container(container_id, force=True)
    for timestamps, (cli, browser, size, frames) in rows.items():
        label = "with timestamps" if timestamps else "plain"
        flag = " -t" if timestamps else ""
        print(
            f"  {label:15s}: docker logs{flag} {cli:.2f} s ({LINES / cli:,.0f} lines/s), "
            f"browser {browser:.2f} s ({LINES / browser:,.0f} lines/s, "
            f"{size / 1e6:.1f} MB in ~{frames:.0f} frames), ratio {browser / cli:.2f}"
        )
    cli, browser, *_ = rows[False]
    cli_t, browser_t, *_ = rows[True]
    ratio, ratio_t = browser / cli, browser_t / cli_t
    print(f"  goal: browser ≤ {GOAL} × docker logs (plain {ratio:.2f}, timestamps {ratio_t:.2f})")
    return Result(
        name="logs_stream",
        figure=f"browser {browser:.2f} s / {browser_t:.2f} s (-t)",
        raw=f"docker logs {cli:.2f} s / {cli_t:.2f} s (-t)",
        ratio=max(ratio, ratio_t),
        goal=f"≤ {GOAL} × docker logs",
        met=max(ratio, ratio_t) <= GOAL,
        notes=[f"plain {ratio:.2f}, timestamps {ratio_t:.2f}"],
    )


# -- 200 followers of one container ---------------------------------------------------------

FOLLOWERS = 200
FOLLOWERS_ENV = {  # one user holds them all: lift the per-user and per-process socket caps
    "DOCKERWEB_STREAMS_PER_USER": str(FOLLOWERS * 2),
    "DOCKERWEB_STREAMS_PER_PROCESS": str(FOLLOWERS * 2),
}
TICKS = "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.05; done"


def hold_followers(url, headers, count, live, stop) -> None:
    """Open `count` log sockets, each counted in `live` once it got live lines (a child)."""
    asyncio.run(_hold_followers(url, headers, count, live, stop))


async def _hold_followers(url, headers, count, live, stop) -> None:
    from websockets.asyncio.client import connect

    async def follow() -> None:
        async with connect(
            url, additional_headers=headers, max_size=None, ping_interval=None, proxy=None
        ) as socket:
            frames = 0
            async for message in socket:
                frames += isinstance(message, bytes)
                if frames == 2:  # the tail, then a live tick
                    with live.get_lock():
                        live.value += 1

    followers = [asyncio.create_task(follow()) for _ in range(count)]
    while not stop.is_set() and not any(f.done() for f in followers):
        await asyncio.sleep(0.1)
    for follower in followers:
        follower.cancel()
    results = await asyncio.gather(*followers, return_exceptions=True)
    failed = [r for r in results if isinstance(r, Exception)]  # CancelledError is no Exception
    if failed:
        raise failed[0]


_REQUEST = re.compile(rb"(?:GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.1\r\n")
_LOGS = re.compile(rb"/engines/local/containers/[^/]+/logs\?")


class EngineRequests(SocketProxy):
    """The engine's socket forwarded, noting the request each connection carries last."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.last_request: dict[int, bytes] = {}  # by forwarded connection
        self.followed_opened = 0
        self.tails = 0

    def _pipe(self, pair, source, sink) -> None:
        if source is not pair.client:
            return super()._pipe(pair, source, sink)
        real_recv = source.recv

        def recv(size: int) -> bytes:
            data = real_recv(size)
            for path in _REQUEST.findall(data):
                self.last_request[id(pair)] = path
                if _LOGS.search(path):
                    if b"follow=1" in path:
                        self.followed_opened += 1
                    else:
                        self.tails += 1
            return data

        try:
            return super()._pipe(pair, _Recv(source, recv), sink)
        finally:
            with self._lock:
                self.last_request.pop(id(pair), None)

    def followed_open(self) -> int:
        """Followed log requests whose connection is still open (the engine streams them)."""
        with self._lock:
            return sum(
                1
                for path in self.last_request.values()
                if _LOGS.search(path) and b"follow=1" in path
            )


class _Recv:
    """A socket whose recv() is watched (socket objects don't take new attributes)."""

    def __init__(self, sock, recv):
        self._sock, self.recv = sock, recv

    def __getattr__(self, name):
        return getattr(self._sock, name)


def figures(pid: int, engine: EngineRequests) -> dict:
    threads, rss = threads_and_rss(pid)
    return {
        "streams": engine.followed_open(),
        "opened": engine.followed_opened,
        "tails": engine.tails,
        "threads": threads,
        "rss": rss,
    }


def run_followers(api) -> Result:
    print(f"logs_stream followers: {FOLLOWERS} log sockets on one container")
    container_id = create_container(api, ["sh", "-c", TICKS], "ticks")
    api.start(container_id)
    spawn = multiprocessing.get_context("spawn")
    engine = EngineRequests(Path(tempfile.mkdtemp(prefix="dockerweb-bench-")) / "engine.sock")
    engine.start()
    try:
        with running_portal({**FOLLOWERS_ENV, "DOCKER_HOST": engine.address}) as portal:
            http = portal.session()
            path = f"/engines/local/ws/containers/{container_id}/logs/?tail=10"
            url = portal.url.replace("http", "ws", 1) + path
            headers = {"Cookie": f"sessionid={http.cookies['sessionid']}", "Origin": portal.url}

            def hold(count: int):
                live, stop = spawn.Value("i", 0), spawn.Event()
                child = spawn.Process(
                    target=hold_followers, args=(url, headers, count, live, stop), daemon=True
                )
                child.start()
                wait_for(lambda: live.value >= count, timeout=120, message=f"{count} followers")
                return child, stop

            def leave(child, stop) -> None:
                stop.set()
                child.join(timeout=60)
                # The shared log stream closes a few seconds after the last follower left.
                wait_for(
                    lambda: not engine.followed_open(),
                    timeout=30,
                    message="the followed log stream to close",
                )

            idle = figures(portal.pid, engine)
            child, stop = hold(1)
            one = figures(portal.pid, engine)
            leave(child, stop)
            started = time.perf_counter()
            child, stop = hold(FOLLOWERS)
            joined = time.perf_counter() - started
            during = figures(portal.pid, engine)
            leave(child, stop)
            after = figures(portal.pid, engine)
            # Again: memory kept after the first round is reused, not added to.
            child, stop = hold(FOLLOWERS)
            again = figures(portal.pid, engine)
            leave(child, stop)
            after_again = figures(portal.pid, engine)
    finally:
        engine.stop()
        api.remove_container(container_id, force=True)
    rows = (
        ("idle", idle),
        ("1 follower", one),
        (f"{FOLLOWERS} followers", during),
        ("after", after),
        (f"{FOLLOWERS} again", again),
        ("after again", after_again),
    )
    for label, row in rows:
        print(
            f"  {label:13s}: engine log streams open {row['streams']} (opened so far "
            f"{row['opened']}, tail reads {row['tails']}), threads {row['threads']}, "
            f"RSS {mb(row['rss'])}"
        )
    streams = during["streams"]
    print(
        f"  {FOLLOWERS} followers live in {joined:.1f} s on {streams} engine log stream(s), "
        f"{during['opened'] - one['opened']} opened for them; raw: {FOLLOWERS} "
        f"`docker logs -f` hold {FOLLOWERS}"
    )
    return Result(
        name="logs_followers",
        figure=f"{streams} log stream(s) for {FOLLOWERS} followers",
        raw=f"{FOLLOWERS} streams",
        ratio=streams / FOLLOWERS,
        goal="1 log stream per container",
        met=streams == 1 and again["streams"] == 1,
        notes=[
            f"threads idle {idle['threads']}, 1 follower {one['threads']}, "
            f"{FOLLOWERS} {during['threads']}, after {after['threads']}",
            f"RSS idle {mb(idle['rss'])}, 1 follower {mb(one['rss'])}, "
            f"{FOLLOWERS} {mb(during['rss'])}, after {mb(after['rss'])}, "
            f"again {mb(again['rss'])}, after again {mb(after_again['rss'])}",
        ],
    )


# -- a million lines in the Logs tab ---------------------------------------------------------

MILLION = 1_000_000
KEPT = 10_000  # DOCKERWEB_LOG_LINES_KEPT's default
BLOCK_GOAL_MS = 100
# The figure is the log viewer's: the sidebar (every container on the engine, patched and
# fetched again live) leaves the page first; bench/containers_page.py measures that one.
WITHOUT_SIDEBAR = """
() => {
  document.querySelector("aside.sidebar").remove();
  document.body.addEventListener("htmx:beforeRequest", (event) => event.preventDefault());
}
"""
# Installed before the lines come: every long task (> 50 ms) of the page.
WATCH_MAIN_THREAD = """
() => {
  window.benchLongTasks = [];
  window.benchLastLongTask = performance.now();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.benchLongTasks.push(entry.duration);
      window.benchLastLongTask = performance.now();
    }
  }).observe({ type: "longtask" });
}
"""
# Before the lines come, the page settles (the removed sidebar collected): 2 s without one.
SETTLED = "() => performance.now() - window.benchLastLongTask > 2000"


def run_million(api, budget: str | None) -> dict:
    env = {} if budget is None else {"DOCKERWEB_STREAM_BYTES_PER_USER": budget}
    script = (
        f"echo ready; while [ ! -e /go ]; do sleep 0.05; done; seq 1 {MILLION}; exec sleep 3600"
    )
    container_id = create_container(api, ["sh", "-c", script], f"million-{budget or 'default'}")
    api.start(container_id)
    try:
        with running_portal(env) as portal, browser_page(portal) as page:
            page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
            output = page.locator("[data-log-output]")
            output.locator(".line", has_text="ready").wait_for()
            tail = page.get_by_label("Lines to load")
            tail.fill(str(MILLION))
            tail.dispatch_event("change")
            page.locator("[data-log-note]").wait_for()
            output.locator(".line", has_text="ready").wait_for()
            page.evaluate(WITHOUT_SIDEBAR)
            page.evaluate(WATCH_MAIN_THREAD)
            page.wait_for_function(SETTLED, timeout=60_000, polling=200)
            page.evaluate("() => { window.benchLongTasks = []; }")
            started = time.perf_counter()
            api.exec_start(api.exec_create(container_id, ["touch", "/go"]))
            last = output.locator(".line").last
            wait_for(
                lambda: last.text_content() == str(MILLION),
                timeout=300,
                interval=0.2,
                message="the last line to show",
            )
            elapsed = time.perf_counter() - started
            # Then the older lines fill in (in a flood the page shows the newest ones first).
            viewer = page.locator("[data-log-viewer]")
            wait_for(
                lambda: viewer.get_attribute("data-lines") == str(KEPT),
                timeout=60,
                interval=0.2,
                message=f"{KEPT} lines on the page",
            )
            tasks = sorted(page.evaluate("window.benchLongTasks"), reverse=True)
    finally:
        api.remove_container(container_id, force=True)
    return {"elapsed": elapsed, "tasks": tasks, "longest": max(tasks, default=0)}


def run_millions(api) -> Result:
    print(f"logs_stream million: {MILLION:,} lines printed while the Logs tab follows")
    rows = {}
    for label, budget in (("default budget", None), ("no budget", "1000000000")):
        rows[label] = row = run_million(api, budget)
        longest = ", ".join(f"{ms:.0f}" for ms in row["tasks"][:5]) or "none"
        print(
            f"  {label:14s}: longest main-thread block {row['longest']:.0f} ms "
            f"({len(row['tasks'])} tasks over 50 ms, longest: {longest} ms), last line shown "
            f"after {row['elapsed']:.1f} s, then all {KEPT:,} lines the page keeps"
        )
    longest = max(row["longest"] for row in rows.values())
    return Result(
        name="logs_million",
        figure=f"longest block {longest:.0f} ms",
        raw="-",
        ratio=None,
        goal=f"≤ {BLOCK_GOAL_MS} ms",
        met=longest <= BLOCK_GOAL_MS,
        notes=[f"{label}: {row['longest']:.0f} ms" for label, row in rows.items()],
    )


PARTS = {"relay": run_relay, "followers": run_followers, "million": run_millions}


def run(parts: list[str] | None = None) -> Result:
    """All parts (or those named); one Result, its notes carrying the other parts' figures."""
    api = engine_api()
    results = []
    try:
        build_image(api)
        for name in parts or list(PARTS):
            results.append(PARTS[name](api))
            print()
    finally:
        cleanup(api)
    head = results[0]
    for other in results[1:]:
        head.notes += [f"{other.name}: {other.figure} (goal {other.goal}: {other.verdict()})"]
        head.notes += other.notes
    head.met = all(r.met for r in results)
    return head


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    chosen = sys.argv[1:]
    unknown = [name for name in chosen if name not in PARTS]
    if unknown:
        sys.exit(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    result = run(chosen)
    print(f"logs_stream: {result.verdict()}")
