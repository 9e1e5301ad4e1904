"""The live model's memory and cost per 10,000 containers.

Takes the engine's real container listing (its raw JSON, as the sync thread gets it), and
when the engine has fewer than 10,000 containers, repeats its items with fresh ids and names
up to 10,000 — the same shapes (ports, labels, mounts, networks) the engine really returns.
Measures with tracemalloc what the model holds once they are applied, how long applying the
listing takes against the raw listing call itself, and how long a page's window (search,
filter, sort, page) takes from the model.
"""

import json
import statistics
import time
import tracemalloc
import uuid
from datetime import UTC, datetime

from bench.portal import Result

TARGET = 10_000


def _items(api) -> tuple[list[dict], float]:
    started = time.perf_counter()
    items = api.containers(all=True)
    took = time.perf_counter() - started
    if not items:
        raise RuntimeError("the engine has no container to take shapes from")
    grown = list(items)
    while len(grown) < TARGET:
        template = items[len(grown) % len(items)]
        fresh = uuid.uuid4().hex * 2
        grown.append({**template, "Id": fresh, "Names": [f"/bench-model-{len(grown)}-{fresh[:6]}"]})
    return grown[:TARGET], took


def _django_setup() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
    django.setup()


def run() -> Result:
    _django_setup()
    from dockerweb.gateway import client
    from dockerweb.gateway.containers import _summary
    from dockerweb.live_model import ContainerQuery, LiveModel

    api = client.api()
    items, raw_listing = _items(api)
    # From the JSON text, as the sync thread gets it: what the model keeps (labels, names)
    # is allocated here, not shared with the items used as templates.
    text = json.dumps(items)
    del items
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    started = time.perf_counter()
    now = datetime.now(UTC)
    items = json.loads(text)
    model = LiveModel()
    model.replace_all([_summary(item, now) for item in items], [], [], [])
    count = len(items)
    del items
    apply_took = time.perf_counter() - started
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    windows = []
    for q in ("", "bench", "zz-no-match", "1"):
        started = time.perf_counter()
        model.containers_page(ContainerQuery(q=q, sort="name", descending=False))
        windows.append(time.perf_counter() - started)
    mb = held / 1e6
    print(f"model of {count:,} containers: {mb:.1f} MB held ({held / count:.0f} B each)")
    print(f"the engine's own listing (its real containers): {raw_listing * 1000:.0f} ms")
    print(f"decoding, parsing and applying 10,000 rows: {apply_took * 1000:.0f} ms")
    print(
        f"a window (search, sort, page) from the model: median {statistics.median(windows) * 1000:.1f} ms"
    )
    return Result(
        name="model_memory",
        figure=f"{mb:.1f} MB / 10,000 containers",
        raw=f"window {statistics.median(windows) * 1000:.1f} ms",
        ratio=None,
        goal="stated",
        met=True,
        notes=[f"applying a 10,000-row listing: {apply_took * 1000:.0f} ms"],
    )
