"""Three engines × 1,000 containers: the container page per engine, the models' memory, the
engine switcher.

    .venv/bin/python bench/three_engines.py

The engines: the main one (DOCKER_HOST, /var/run/docker.sock by default) and two dockerds of
this run's own (tests/extra_dockerd.py: plain unix sockets, stopped and wiped at the end,
whatever happens). Each gets 1,000 created (never started) containers of this run, labelled
and named per engine (`dwb-<run>-<engine>-<n>`); on the main engine they are removed at the
end and nothing else there is touched. One Daphne portal declares the three in
DOCKERWEB_ENGINES and is used logged in as its admin. For each engine in turn:
- the first load of /engines/<name>/containers/ (it starts that engine's live model: the
  listing is inside this time), then the portal's RSS (what the model added; the first
  engine's figure also holds the portal's first render of the page: templates, imports);
- WARM_ROUNDS warm loads, each beside the raw `GET /containers/json?all=1` of that engine
  (docker-py low-level), interleaved: medians, p95s and the ratio page / raw.
Then the switcher: the first engine's page again, now with the other two models loaded and
watched, against its warm loads while it was the only one.

No goals, no timed assertions: it reports; it fails only on errors (a page that isn't a 200,
shows the engine banner, or shows another engine's containers).
"""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.busy_engine import timed_raw  # noqa: E402 - after the sys.path fix-up
from bench.containers_page import create_many  # noqa: E402
from bench.page_load import Fetched, fetch  # noqa: E402
from bench.portal import (  # noqa: E402
    BENCH_IMAGE,
    RUN_ID,
    Result,
    build_image,
    cleanup,
    engine_api,
    exit_cleanly_on_sigterm,
    mb,
    median,
    ms,
    percentile,
    running_portal,
    threads_and_rss,
)
from tests.extra_dockerd import ExtraDockerd  # noqa: E402

CONTAINERS = 1_000
WARM_ROUNDS = 15
MAIN = "local"
EXTRAS = ("extra-1", "extra-2")


@dataclass
class BenchEngine:
    name: str
    address: str
    api: object  # docker.APIClient on that engine (the raw listing, creating containers)

    @property
    def marker(self) -> str:
        """What the names of this engine's containers of this run start with."""
        return f"dwb-{RUN_ID}-{self.name}-"


@dataclass
class Figures:
    engine: BenchEngine
    listed: int  # containers on the engine (the main one may hold others' too)
    first: Fetched
    rss_before: int
    rss_after: int
    threads_after: int
    pages: list[float]
    raws: list[float]

    @property
    def grew(self) -> int:
        return self.rss_after - self.rss_before


def run() -> list[Result]:
    print(f"three_engines: {1 + len(EXTRAS)} engines × {CONTAINERS:,} containers")
    api = engine_api()
    extras: list[ExtraDockerd] = []
    try:
        build_image(api)
        started = time.perf_counter()
        for _ in EXTRAS:
            # Its image is ours, copied from the main engine (the tests' isn't there).
            extras.append(ExtraDockerd(name="dwb3", image=BENCH_IMAGE).start())
        print(f"  {len(extras)} extra dockerds up in {time.perf_counter() - started:.1f} s")
        main_address = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        bench_engines = [BenchEngine(MAIN, main_address, api)] + [
            BenchEngine(name, extra.unix_address, extra.client())
            for name, extra in zip(EXTRAS, extras, strict=True)
        ]
        for engine in bench_engines:
            print(f"  {engine.name}:", end="")
            create_many(engine.api, CONTAINERS, prefix=f"{engine.name}-")
        declared = ",".join(f"{e.name}={e.address}" for e in bench_engines)
        with running_portal({"DOCKERWEB_ENGINES": declared}) as portal:
            return measure(portal, bench_engines)
    finally:
        started = time.perf_counter()
        # At once: wiping an extra engine's data root (1,000 containers: ≈ 17,000 folders)
        # takes 15-35 s of slow rmdirs here, and the main engine's removals wait on disk too.
        # The pool waits for all three before the run ends.
        with ThreadPoolExecutor(max_workers=len(extras) + 1) as pool:
            done = [pool.submit(extra.stop) for extra in extras]
            # This run's containers and image on the main engine, nothing else.
            done.append(pool.submit(cleanup, api))
            for future in done:
                future.result()
        print(
            f"  extra dockerds stopped and main engine cleaned up in {time.perf_counter() - started:.1f} s"
        )


def measure(portal, bench_engines: list[BenchEngine]) -> list[Result]:
    http = portal.session()
    threads_start, rss_start = threads_and_rss(portal.pid)
    print(f"  portal logged in, no engine loaded: RSS {mb(rss_start)}, {threads_start} threads")
    figures = [load_engine(portal, http, engine, bench_engines) for engine in bench_engines]
    # The switcher: the first engine's page again, the other models now loaded and watched,
    # against its warm rounds while it was the only engine loaded.
    first = bench_engines[0]
    alone = Rounds(figures[0].pages, figures[0].raws)
    beside = warm_rounds(http, f"{portal.url}/engines/{first.name}/containers/", first)
    threads_end, rss_end = threads_and_rss(portal.pid)
    print_table(figures)
    listed = sum(f.listed for f in figures)
    print(
        f"\n  portal RSS: {mb(rss_start)} with no engine loaded, {mb(rss_end)} with "
        f"{len(figures)} ({threads_start} → {threads_end} threads): "
        f"{mb((rss_end - rss_start) * 1000 // listed)} per 1,000 of their {listed:,} containers, "
        "pages served included"
    )
    print(
        f"  ({figures[0].engine.name}'s RSS added includes the portal's first render of the "
        "page: templates, imports)"
    )
    print(
        f"  switcher: /engines/{first.name}/containers/ median {ms(median(alone.pages))} "
        f"with 1 engine loaded, {ms(median(beside.pages))} with {len(figures)} "
        f"({median(beside.pages) / median(alone.pages):.2f}×); page/raw "
        f"{alone.ratio:.2f} → {beside.ratio:.2f}"
    )
    return results(rss_start, rss_end, figures, alone, beside)


@dataclass
class Rounds:
    pages: list[float]
    raws: list[float]

    @property
    def ratio(self) -> float:
        return median(self.pages) / median(self.raws)


def load_engine(portal, http, engine: BenchEngine, every: list[BenchEngine]) -> Figures:
    url = f"{portal.url}/engines/{engine.name}/containers/"
    _, rss_before = threads_and_rss(portal.pid)
    first = fetch(http, url)  # starts this engine's model: its listing is inside this time
    threads_after, rss_after = threads_and_rss(portal.pid)
    if not first.ok:
        raise RuntimeError(f"first {url}: status {first.status}, banner {first.banner}")
    check_engine_shown(http, portal.url, engine, every)
    listed = len(engine.api.containers(all=True, quiet=True))
    rounds = warm_rounds(http, url, engine)
    print(
        f"  {engine.name}: first page {ms(first.seconds)} ({first.size / 1000:.0f} KB), "
        f"RSS +{mb(rss_after - rss_before)}, {threads_after} threads; warm median {ms(median(rounds.pages))}, "
        f"raw {ms(median(rounds.raws))} ({listed:,} containers)"
    )
    return Figures(
        engine, listed, first, rss_before, rss_after, threads_after, rounds.pages, rounds.raws
    )


def check_engine_shown(http, base: str, engine: BenchEngine, every: list[BenchEngine]) -> None:
    """The engine's page lists its own containers of this run and no other engine's."""
    answer = http.get(
        f"{base}/engines/{engine.name}/containers/",
        params={"q": f"dwb-{RUN_ID}-"},
        timeout=120,
        allow_redirects=False,
    )
    answer.raise_for_status()
    if engine.marker not in answer.text:
        raise RuntimeError(f"/engines/{engine.name}/containers/ doesn't list its containers")
    strangers = [o.name for o in every if o is not engine and o.marker in answer.text]
    if strangers:
        raise RuntimeError(
            f"/engines/{engine.name}/containers/ lists containers of {', '.join(strangers)}"
        )


def warm_rounds(http, url: str, engine: BenchEngine) -> Rounds:
    """WARM_ROUNDS of (raw listing of the engine, the page), interleaved so load hits both."""
    rounds = Rounds([], [])
    for _ in range(WARM_ROUNDS):
        rounds.raws.append(timed_raw(engine.api))
        fetched = fetch(http, url)
        if not fetched.ok:
            raise RuntimeError(f"{url}: status {fetched.status}, banner {fetched.banner}")
        rounds.pages.append(fetched.seconds)
    return rounds


def per_thousand(figures: Figures) -> int:
    return figures.grew * 1000 // max(figures.listed, 1)


def print_table(figures: list[Figures]) -> None:
    header = (
        "engine",
        "containers",
        "first page",
        "warm median",
        "warm p95",
        "raw median",
        "page/raw",
        "RSS added",
        "per 1,000",
    )
    rows = [
        (
            f.engine.name,
            f"{f.listed:,}",
            ms(f.first.seconds),
            ms(median(f.pages)),
            ms(percentile(f.pages, 95)),
            ms(median(f.raws)),
            f"{median(f.pages) / median(f.raws):.2f}",
            mb(f.grew),
            mb(per_thousand(f)),
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))


def results(rss_start, rss_end, figures, alone: Rounds, beside: Rounds) -> list[Result]:
    found = [
        Result(
            name=f"3 engines: {f.engine.name} page",
            figure=f"{ms(median(f.pages))} (p95 {ms(percentile(f.pages, 95))})",
            raw=f"raw {ms(median(f.raws))}",
            ratio=median(f.pages) / median(f.raws),
            goal="(stated)",
            met=None,
            notes=[
                f"first page {ms(f.first.seconds)} (its model's listing of {f.listed:,} included)"
            ],
        )
        for f in figures
    ]
    found.append(
        Result(
            name="3 engines: models' RSS",
            figure=" / ".join(f"+{mb(f.grew)}" for f in figures),
            raw="-",
            ratio=None,
            goal="(stated)",
            met=None,
            notes=[
                f"RSS {mb(rss_start)} with no engine loaded, {mb(rss_end)} with {len(figures)}"
                f" (+{mb(rss_end - rss_start)} for {sum(f.listed for f in figures):,} containers,"
                " pages served included)",
                "per 1,000 containers: "
                + ", ".join(f"{f.engine.name} {mb(per_thousand(f))}" for f in figures),
            ],
        )
    )
    found.append(
        Result(
            name="3 engines: switcher",
            figure=f"{ms(median(beside.pages))} with {len(figures)} loaded",
            raw=f"{ms(median(alone.pages))} with 1",
            ratio=median(beside.pages) / median(alone.pages),
            goal="(stated)",
            met=None,
            notes=[f"page/raw {alone.ratio:.2f} with 1 engine loaded, {beside.ratio:.2f} with 3"],
        )
    )
    return found


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    for result in run():
        print(f"{result.name}: {result.figure} {result.raw}")
