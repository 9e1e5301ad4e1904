"""The portal on a busy engine: 10,000 foreign containers, every list page, a team, a browser.

    BENCH_FOREIGN=10000 .venv/bin/python bench/busy_engine.py

The engine is topped up to BENCH_FOREIGN (default 10,000) foreign containers
(bench/foreign.py: created, never started); those this run made are removed at the end, those
that were there stay. Then, against one Daphne portal, in one run:
- every list page (containers, images, volumes, networks, a network's detail, jobs, activity,
  a container's logs page): median time and bytes over interleaved rounds, each round
  beginning with the raw listing `GET /containers/json?all=1` it is compared with;
  goal ≤ 1.0 × that raw listing and ≤ 150 KB;
- 10 and 20 users on /engines/local/containers/ at once: p95 against the raw listing (goal ≤ 2×) and the
  answers that weren't pages (not a 200, or a 200 with the engine banner shown: goal none);
- Chromium loading /engines/local/containers/: load event and elements (goal ≤ 1 s, ≤ 10,000);
- the portal's RSS before and after its first page, as a proxy for what it keeps per
  10,000 containers;
- event → page p95 with this many containers (bench/event_latency.py; goal ≤ 50 ms).
"""

import os
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import event_latency, foreign  # noqa: E402 - after the sys.path fix-up
from bench.page_load import (  # noqa: E402
    browser_load,
    concurrent_users,
    fetch,
    rss_mib,
)
from bench.portal import (  # noqa: E402
    RUN_ID,
    Result,
    browser_page,
    build_image,
    cleanup,
    create_container,
    engine_api,
    exit_cleanly_on_sigterm,
    median,
    ms,
    percentile,
    running_portal,
)

ROUNDS = 7
BROWSER_ROUNDS = 5
USERS = (10, 20)
REQUESTS_PER_USER = 5
PAGE_GOAL = 1.0  # × one raw listing
PAGE_BUDGET = 150_000  # bytes of HTML
LOAD_GOAL = 2.0  # p95 × one raw listing
BROWSER_GOAL_MS = 1000
ELEMENTS_GOAL = 10_000
EVENT_GOAL_MS = 50


def foreign_count() -> int:
    """BENCH_FOREIGN, or the default when unset (`bench/run.py` skips this run when it is 0)."""
    value = int(os.environ.get("BENCH_FOREIGN") or foreign.DEFAULT_COUNT)
    return value or foreign.DEFAULT_COUNT


def timed_raw(api) -> float:
    started = time.perf_counter()
    api.containers(all=True)
    return time.perf_counter() - started


def run() -> list[Result]:
    count = foreign_count()
    print(f"busy_engine: {count} foreign containers, {ROUNDS} rounds of every page")
    api = engine_api()
    had_image = foreign.has_image(api)
    try:
        started = time.perf_counter()
        topped = foreign.up(api, count, RUN_ID)
        made = f"{topped.created} made in {time.perf_counter() - started:.0f} s"
        print(f"  {topped.total} foreign containers on the engine ({made})")
        try:
            results = measure(api)
        finally:
            cleanup(api)  # this run's own containers and image; the foreign ones stay for now
        name = f"busy: event → page ({count})"
        results.append(phase(name, lambda: event_latency.run(goal_ms=EVENT_GOAL_MS, name=name)))
    finally:
        # Only what this run made: foreign containers that were there before stay.
        foreign.down(api, RUN_ID, image=not had_image)
    results[0].notes.append(f"{topped.total} foreign containers ({made})")
    return results


def page_urls(api, logs_id: str) -> dict[str, str]:
    bridge = api.inspect_network("bridge")["Id"]
    return {
        "/engines/local/containers/": "/engines/local/containers/",
        "/engines/local/images/": "/engines/local/images/",
        "/engines/local/volumes/": "/engines/local/volumes/",
        "/engines/local/networks/": "/engines/local/networks/",
        "network bridge": f"/engines/local/networks/{bridge}/",
        "/engines/local/jobs/": "/engines/local/jobs/",
        "/engines/local/audit/": "/engines/local/audit/",
        "container logs": f"/engines/local/containers/{logs_id}/",
    }


def measure(api) -> list[Result]:
    build_image(api)
    # Ours, so its logs page has lines and the container is one the portal lists.
    logs_id = create_container(api, ["sh", "-c", "seq 1 200"], "logs")
    api.start(logs_id)
    api.wait(logs_id, timeout=60)
    pages = page_urls(api, logs_id)
    with running_portal() as portal:
        rss_start = rss_mib(portal.pid)
        http = portal.session()
        first = fetch(http, f"{portal.url}/engines/local/containers/")
        rss_first = rss_mib(portal.pid)
        print(
            f"  first /engines/local/containers/: {ms(first.seconds)}, {first.size / 1000:.0f} KB; "
            f"RSS {rss_start[0]:.0f} → {rss_first[0]:.0f} MiB"
        )
        raw, results = page_rounds(api, http, portal.url, pages)
        sessions = [http] + [portal.session() for _ in range(max(USERS) - 1)]
        for users in USERS:
            results.append(
                phase(
                    f"busy: {users} users /engines/local/containers/",
                    lambda n=users: team(
                        sessions[:n], f"{portal.url}/engines/local/containers/", raw
                    ),
                )
            )
        results.append(
            phase("busy: Chromium /engines/local/containers/", lambda: browser_rounds(api, portal))
        )
        rss_end = rss_mib(portal.pid)
    results.append(memory_result(rss_start, rss_first, rss_end, first))
    return results


def page_rounds(api, http, base: str, pages: dict[str, str]) -> tuple[float, list[Result]]:
    for path in pages.values():  # warm-up: templates, connection pools
        fetch(http, base + path)
    timed_raw(api)
    raw_times, got = [], {label: [] for label in pages}
    for number in range(ROUNDS):
        raw_times.append(timed_raw(api))
        for label, path in pages.items():
            got[label].append(fetch(http, base + path))
        print(f"  round {number + 1}/{ROUNDS}: raw {ms(raw_times[-1])}")
    raw = median(raw_times)
    print(f"  raw listing: median {ms(raw)}, p90 {ms(percentile(raw_times, 90))}")
    results = []
    for label, fetched in got.items():
        seconds = median([f.seconds for f in fetched])
        size = max(f.size for f in fetched)
        bad = sum(not f.ok for f in fetched)
        print(
            f"  {label:16s} median {ms(seconds):>8s}  {size / 1000:8.0f} KB  "
            f"{seconds / raw:5.2f}× raw" + (f"  {bad} error/banner pages" if bad else "")
        )
        results.append(
            Result(
                name=f"busy: {label}",
                figure=f"{ms(seconds)}, {size / 1000:.0f} KB",
                raw=f"raw {ms(raw)}",
                ratio=seconds / raw,
                goal=f"≤ {PAGE_GOAL} × raw, ≤ {PAGE_BUDGET // 1000} KB",
                met=seconds <= PAGE_GOAL * raw and size <= PAGE_BUDGET and not bad,
                notes=[f"{bad} of {len(fetched)} answers were errors or banner pages"]
                if bad
                else [],
            )
        )
    return raw, results


def team(sessions, url: str, raw: float) -> Result:
    answers, wall = concurrent_users(sessions, url, REQUESTS_PER_USER)
    times = [a.seconds for a in answers]
    p50, p95 = median(times), percentile(times, 95)
    banners = sum(a.banner for a in answers)
    errors = sum(not a.ok for a in answers)
    rate = len(answers) / wall
    print(
        f"  {len(sessions)} users × {REQUESTS_PER_USER}: p50 {ms(p50)}, p95 {ms(p95)} "
        f"({p95 / raw:.2f}× raw), {rate:.1f} pages/s, {errors} errors ({banners} banner pages)"
    )
    return Result(
        name=f"busy: {len(sessions)} users /engines/local/containers/",
        figure=f"p95 {ms(p95)}, {errors}/{len(answers)} errors",
        raw=f"raw {ms(raw)}",
        ratio=p95 / raw,
        goal=f"0 errors, p95 ≤ {LOAD_GOAL} × raw",
        met=errors == 0 and p95 <= LOAD_GOAL * raw,
        notes=[f"{len(sessions)} users: p50 {ms(p50)}, {rate:.1f} pages/s, {banners} banner pages"],
    )


def phase(name: str, measure_it) -> Result:
    """One part of the run; if it crashes, the others' figures still count."""
    try:
        return measure_it()
    except Exception as exc:  # noqa: BLE001 - reported as this figure
        traceback.print_exc()
        return Result(name, f"CRASHED: {type(exc).__name__}", "", None, "", False, [str(exc)])


def browser_rounds(api, portal) -> Result:
    with browser_page(portal) as page:
        return browser_figures(api, page, f"{portal.url}/engines/local/containers/")


def browser_figures(api, page, url: str) -> Result:
    browser_load(page, url)  # warm-up: static files cached, as for someone who works here
    raw_times, loads = [], []
    for _ in range(BROWSER_ROUNDS):
        raw_times.append(timed_raw(api))
        loads.append(browser_load(page, url))
    raw = median(raw_times)
    load = median([f["load"] for f in loads])
    dom = median([f["dom"] for f in loads])
    elements = max(f["elements"] for f in loads)
    print(
        f"  Chromium /engines/local/containers/: load {load:.0f} ms (DOMContentLoaded {dom:.0f} ms), "
        f"{elements} elements; raw {ms(raw)}"
    )
    return Result(
        name="busy: Chromium /engines/local/containers/",
        figure=f"load {load:.0f} ms, {elements} elements",
        raw=f"raw {ms(raw)}",
        ratio=load / 1000 / raw,
        goal=f"≤ {BROWSER_GOAL_MS} ms, ≤ {ELEMENTS_GOAL:,} elements",
        met=load <= BROWSER_GOAL_MS and elements <= ELEMENTS_GOAL,
        notes=[f"DOMContentLoaded {dom:.0f} ms"],
    )


def memory_result(start, first, end, first_page) -> Result:
    grew = first[0] - start[0]
    print(
        f"  portal RSS: {start[0]:.0f} MiB before its first page, {first[0]:.0f} after "
        f"(+{grew:.0f}), {end[0]:.0f} at the end (peak {end[1]:.0f})"
    )
    return Result(
        name="busy: portal RSS",
        figure=f"{start[0]:.0f} → {first[0]:.0f} MiB (+{grew:.0f})",
        raw="-",
        ratio=None,
        goal="(what a model costs)",
        met=None,
        notes=[
            f"RSS {end[0]:.0f} MiB after every bench, peak {end[1]:.0f} MiB",
            f"first /engines/local/containers/ (cold): {ms(first_page.seconds)}, {first_page.size / 1000:.0f} KB",
        ],
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    for result in run():
        print(f"{result.name}: {result.figure} {result.verdict()}")
