"""200,000 log lines to the browser against `docker logs` of the same lines.

Goal: Chromium receiving the lines over /ws/containers/<id>/logs/?tail=200000 — split into
lines with the viewer's own Demuxer and LineSplitter (static/js/logs.js), not painted —
takes at most 1.25 × `docker logs --tail 200000 <id> > /dev/null`. Both are timed from
before the connection to the last line, 5 runs each, medians; again with timestamps.

This measures the relay itself, so its portal lifts the two bounds that keep a tab and a
user modest (RELAY_ENV): the lines a tab keeps (a log socket sends no more) and the bytes a
second one user's streams share (bench/stream_fairness.py measures what that one buys).
"""

import subprocess
import sys
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
    median,
    running_portal,
    wait_for,
)

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
  const {Demuxer, LineSplitter} = window.DockerwebLogs;
  return await new Promise((resolve, reject) => {
    const started = performance.now();
    let lines = 0, frames = 0, bytes = 0, first = null, last = null;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    const timer = setTimeout(() => { socket.close(); reject(new Error(`timeout: ${lines} lines`)); }, timeoutMs);
    const splitter = new LineSplitter((stream, parts) => {
      if (first === null) first = parts[0];
      lines += parts.length;
      last = parts[parts.length - 1];
      if (lines >= expected) {
        const elapsed = performance.now() - started;
        clearTimeout(timer);
        socket.onclose = null;
        socket.close();
        resolve({elapsed, lines, frames, bytes, first, last});
      }
    });
    let demuxer = new Demuxer(true, (stream, text) => splitter.push(stream, text));
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        const msg = JSON.parse(event.data);
        if (msg.type === "stream") demuxer = new Demuxer(msg.multiplexed, (s, t) => splitter.push(s, t));
        return;
      }
      frames += 1;
      bytes += event.data.byteLength;
      demuxer.push(new Uint8Array(event.data));
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


def run() -> Result:
    print(f"logs_stream: {LINES} lines, {RUNS} runs each")
    api = engine_api()
    rows = {}
    try:
        build_image(api)
        container_id = create_container(
            api, ["sh", "-c", f"seq 1 {LINES}; exec sleep 3600"], "logs"
        )
        api.start(container_id)
        wait_for(
            lambda: api.logs(container_id, tail=1) == f"{LINES}\n".encode(),
            timeout=120,
            interval=0.2,
            message="the container to log all its lines",
        )
        with running_portal(RELAY_ENV) as portal, browser_page(portal) as page:
            page.goto(f"{portal.url}/containers/")
            page.add_script_tag(url="/static/js/logs.js")
            ws_url = portal.url.replace("http", "ws", 1) + f"/ws/containers/{container_id}/logs/"
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
        cleanup(api)
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


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"logs_stream: {result.verdict()}")
