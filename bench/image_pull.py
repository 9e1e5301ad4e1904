"""Pulling a multi-layer image from a local registry: the portal's pull job against `docker pull`.

A 36 MB image (three layers of random data on the busybox-static base) is pushed to a
local registry (Debian's docker-registry, started here on a free port, removed after).

Time: ROUNDS interleaved rounds, the local copy removed before each pull:
- `docker pull <ref>` (the CLI), timed start to exit;
- the portal: Chromium sits on the Jobs page (its /engines/local/ws/jobs/ socket open); a logged-in
  session POSTs /engines/local/images/pull/; timed from before the POST to the page receiving the
  job's "succeeded" notice.
Frames: a local pull is over in well under a second, too short to count frames in, so one
more portal pull goes through a proxy that limits each connection to PROXY_RATE (a remote
registry's pace), with Chromium on the job page counting the live progress frames each
layer gets while it downloads or extracts.
Goals: portal median ≤ 1.1 × `docker pull` median; 2–20 frames a second per active layer.
"""

import contextlib
import io
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker  # noqa: E402 - after the sys.path fix-up

from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    BENCH_IMAGE,
    BENCH_LABELS,
    RUN_ID,
    Result,
    browser_page,
    build_image,
    cleanup,
    engine_api,
    exit_cleanly_on_sigterm,
    median,
    running_portal,
    wait_for,
)
from tests.registry import SlowProxy, start_registry  # noqa: E402 - after the sys.path fix-up

ROUNDS = 3
LAYERS_MB = (12, 12, 12)
GOAL_RATIO = 1.1
FRAMES_GOAL = (2.0, 20.0)
ACTIVE = ("Downloading", "Extracting", "Verifying Checksum", "Download complete")

PROXY_RATE = 4 * 1024 * 1024  # bytes a second per connection, for the frames pull

# Before any page script: stamp every message the jobs sockets receive (epoch ms).
WATCH_JOB_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__job = [];
  window.__listed = [];
  window.__listOpen = false;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      const path = new URL(String(url)).pathname;
      if (path === "/engines/local/ws/jobs/") {
        this.addEventListener("open", () => { window.__listOpen = true; });
        this.addEventListener("message", (event) => {
          window.__listed.push([performance.timeOrigin + performance.now(), JSON.parse(event.data)]);
          if (window.__onListed) window.__onListed();
        });
      } else if (path.startsWith("/engines/local/ws/jobs/")) {
        this.addEventListener("message", (event) => {
          window.__job.push([performance.timeOrigin + performance.now(), JSON.parse(event.data)]);
        });
      }
    }
  };
})();
"""


def build_layered(api, reference: str) -> None:
    steps = "".join(
        f"RUN dd if=/dev/urandom of=/data/layer{i} bs=1048576 count={mb} 2>/dev/null\n"
        for i, mb in enumerate(LAYERS_MB)
    )
    dockerfile = f"FROM {BENCH_IMAGE}\n{steps}"
    for event in api.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=reference,
        labels=BENCH_LABELS,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "error" in event:
            raise RuntimeError(f"building the image failed: {event['error']}")


def push(api, reference: str) -> None:
    repository, tag = reference.rsplit(":", 1)
    for event in api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise RuntimeError(f"pushing to the local registry failed: {event['error']}")


def remove(api, reference: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        api.remove_image(reference, force=True)


def cli_pull(api, reference: str) -> float:
    remove(api, reference)
    started = time.perf_counter()
    subprocess.run(["docker", "pull", reference], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def start_portal_pull(portal, http, reference: str) -> str:
    """POST the pull form; returns the job page's path."""
    response = http.post(
        f"{portal.url}/engines/local/images/pull/",
        data={"image": reference, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{portal.url}/engines/local/images/pull/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(f"the portal refused the pull: {response.status_code}")
    return response.headers["Location"]


def portal_pull(api, portal, http, page, reference: str) -> float:
    """Seconds from before the POST to the Jobs page hearing that the job succeeded."""
    remove(api, reference)
    page.goto(f"{portal.url}/engines/local/jobs/")
    page.wait_for_function("() => window.__listOpen")
    started = time.time()
    job_id = start_portal_pull(portal, http, reference).rstrip("/").rsplit("/", 1)[-1]
    # One call that resolves in the page when the notice arrives: polling from here would
    # compete for the two cores with the pull being measured.
    at, notice = page.evaluate(
        """(id) => new Promise((resolve) => {
          const done = () => window.__listed.find(([, m]) => m.id === id && m.status !== "running");
          const check = () => { const hit = done(); if (hit) resolve(hit); else window.__onListed = check; };
          check();
        })""",
        job_id,
    )
    if notice["status"] != "succeeded":
        raise RuntimeError(f"the portal's pull ended {notice['status']}")
    return at / 1000 - started


def watched_pull(api, portal, http, page, reference: str) -> list:
    """A pull watched on its job page; the messages the page received."""
    remove(api, reference)
    page.goto(f"{portal.url}{start_portal_pull(portal, http, reference)}")
    wait_for(
        lambda: page.evaluate("window.__job.some(([, m]) => m.finished)"),
        timeout=300,
        interval=0.1,
        message="the watched pull to finish",
    )
    messages = page.evaluate("window.__job")
    final = next(m for _, m in messages if m.get("finished"))
    if final["status"] != "succeeded":
        raise RuntimeError(f"the portal's pull failed: {final.get('error')}")
    return messages


def frames_per_active_layer(messages: list) -> list[float]:
    """For each layer: live frames a second while it downloads or extracts."""
    active: dict[str, list[float]] = {}
    for at, message in messages:
        if message.get("snapshot"):
            continue  # the recorded state on connecting, not a live frame
        layers = (message.get("progress") or {}).get("layers") or {}
        for layer_id, layer in layers.items():
            if layer.get("status") in ACTIVE:
                active.setdefault(layer_id, []).append(at)
    rates = []
    for stamps in active.values():
        if len(stamps) >= 3:
            rates.append((len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000))
    return rates


def run() -> Result:
    total = sum(LAYERS_MB)
    print(f"image_pull: {total} MB in {len(LAYERS_MB)} layers, {ROUNDS} rounds of each pull")
    api = engine_api()
    registry = proxy = None
    pulled: list[str] = []
    cli_times, portal_times = [], []
    try:
        build_image(api)
        registry = start_registry()
        reference = f"{registry.address}/dwbench/layers:{RUN_ID}"
        pulled.append(reference)
        build_layered(api, reference)
        push(api, reference)
        with running_portal() as portal, browser_page(portal) as page:
            page.add_init_script(WATCH_JOB_SOCKETS)
            http = portal.session()
            for round_number in range(ROUNDS):
                # Alternate which goes first, so neither always meets a warmer engine.
                order = ("cli", "portal") if round_number % 2 == 0 else ("portal", "cli")
                for which in order:
                    if which == "cli":
                        cli_times.append(cli_pull(api, reference))
                        print(f"  round {round_number + 1}: docker pull {cli_times[-1]:.2f} s")
                    else:
                        portal_times.append(portal_pull(api, portal, http, page, reference))
                        print(f"  round {round_number + 1}: portal      {portal_times[-1]:.2f} s")
            proxy = SlowProxy(registry.address, rate=PROXY_RATE)
            slow_reference = f"{proxy.address}/dwbench/layers:{RUN_ID}"
            pulled.append(slow_reference)
            remove(api, reference)
            started = time.perf_counter()
            messages = watched_pull(api, portal, http, page, slow_reference)
            slow_seconds = time.perf_counter() - started
    finally:
        for name in pulled:
            remove(api, name)
        if proxy is not None:
            proxy.stop()
        if registry is not None:
            registry.stop()
        cleanup(api)
    rates = frames_per_active_layer(messages)
    print(
        f"  through a {PROXY_RATE // 1024 // 1024} MB/s-per-connection proxy: {slow_seconds:.1f} s, "
        f"{len(messages)} messages; frames/s per active layer: "
        + (", ".join(f"{r:.1f}" for r in rates) or "-")
    )
    cli_median, portal_median = median(cli_times), median(portal_times)
    ratio = portal_median / cli_median
    low, high = FRAMES_GOAL
    rate_median = median(rates) if rates else 0.0
    rates_ok = bool(rates) and all(low <= r <= high for r in rates)
    print(f"  docker pull median: {cli_median:.2f} s; portal median: {portal_median:.2f} s")
    print(f"  ratio {ratio:.2f} (goal ≤ {GOAL_RATIO}); frames/s per active layer: ", end="")
    print(
        f"median {rate_median:.1f}, range {min(rates, default=0):.1f}–{max(rates, default=0):.1f}"
    )
    return Result(
        name="image_pull",
        figure=f"{portal_median:.2f} s, {rate_median:.1f} frames/s/layer",
        raw=f"docker pull {cli_median:.2f} s",
        ratio=ratio,
        goal=f"≤ {GOAL_RATIO}×; {low:.0f}–{high:.0f} frames/s/layer",
        met=ratio <= GOAL_RATIO and rates_ok,
        notes=[
            f"frames/s per active layer: {', '.join(f'{r:.1f}' for r in rates) or 'none measured'}"
        ],
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"image_pull: {result.verdict()}")
