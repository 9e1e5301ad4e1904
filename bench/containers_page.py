"""The container table with 1,000 containers against the raw listing it is built from.

Goal: the median logged-in GET /engines/local/containers/ (full body) takes at most 1.5 × the median raw
GET /containers/json?all=1 (docker-py low-level `api.containers(all=True)`), both timed in
the same rounds, interleaved, so engine and machine load hit both alike.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    RUN_ID,
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
)

CONTAINERS = 1_000
ROUNDS = 15
GOAL = 1.5


def create_many(api, count: int, prefix: str = "") -> None:
    """`count` created containers of this run, named dwb-<run>-<prefix><number>."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        try:
            for future in [
                pool.submit(create_container, api, ["sleep", "3600"], f"{prefix}{i:04d}")
                for i in range(count)
            ]:
                future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    print(f"  created {count} containers in {time.perf_counter() - started:.1f} s")


def run() -> Result:
    print(f"containers_page: {CONTAINERS} containers, {ROUNDS} interleaved rounds")
    api = engine_api()
    try:
        build_image(api)
        create_many(api, CONTAINERS)
        with running_portal() as portal:
            http = portal.session()
            url = f"{portal.url}/engines/local/containers/"
            total = len(api.containers(all=True))
            # Warm up both paths (template compilation, connection pools, caches).
            for _ in range(3):
                api.containers(all=True)
                first = http.get(url, timeout=60)
            first.raise_for_status()
            shown = first.text.count(f"dwb-{RUN_ID}-")  # our containers' names
            if shown < CONTAINERS:
                raise RuntimeError(f"the page shows {shown} of our {CONTAINERS} containers")
            print(f"  engine lists {total} containers; page is {len(first.content) // 1024} KiB")
            raw_times, page_times = [], []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                api.containers(all=True)
                raw_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                response = http.get(url, timeout=60)
                _ = response.content
                page_times.append(time.perf_counter() - started)
                response.raise_for_status()
    finally:
        cleanup(api)
    raw, page = median(raw_times), median(page_times)
    ratio = page / raw
    print(f"  raw  listing: median {ms(raw)}, p90 {ms(percentile(raw_times, 90))}")
    print(
        f"  page /engines/local/containers/: median {ms(page)}, p90 {ms(percentile(page_times, 90))}"
    )
    print(f"  ratio page/raw (medians): {ratio:.2f} (goal ≤ {GOAL})")
    return Result(
        name="containers_page",
        figure=f"page {ms(page)} (p90 {ms(percentile(page_times, 90))})",
        raw=f"raw {ms(raw)} (p90 {ms(percentile(raw_times, 90))})",
        ratio=ratio,
        goal=f"≤ {GOAL} × raw",
        met=ratio <= GOAL,
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"containers_page: {result.verdict()}")
