"""Foreign containers: a busy engine's worth of containers that belong to nobody we know.

    python bench/foreign.py up [N] [--run ID]   top the engine up to N foreign containers
    python bench/foreign.py down [--run ID]     remove them: one run's, or all of them
    python bench/foreign.py count

They are created and never started, from a tiny image of their own, and carry
`bench.dockerweb.foreign=<run id>` — outside the portal's `dockerweb.` namespace and apart from
the tests' and the benchmarks' own labels, so to the portal and the suite they are strangers,
as on an engine a team shares. `up` counts every foreign container already there, whatever its
run, and creates only the difference; the new ones get this run's id, so whoever made them can
remove exactly those (`down --run ID`) and leave the engine as it found it.
"""

import argparse
import contextlib
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal import engine_api  # noqa: E402 - after the sys.path fix-up
from tests.engine import build_busybox_image  # noqa: E402

LABEL_KEY = "bench.dockerweb.foreign"
# One image for every run: removed by `down` only once no container uses it (the engine
# refuses while one does, so a concurrent run keeps it).
IMAGE = "dockerweb-bench/foreign:1"
DEFAULT_COUNT = 10_000
# The engine does the work; 8 threads keep it busy (≈ 95 s for 9,000 on 2 cores).
THREADS = 8


@dataclass
class Topped:
    run: str
    existing: int  # foreign containers there before, any run's
    created: int  # made now, labelled with `run`
    image_built: bool

    @property
    def total(self) -> int:
        return self.existing + self.created


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


def ids(api: docker.APIClient, run: str | None = None) -> list[str]:
    """Foreign containers on the engine: of one run, or all of them."""
    label = f"{LABEL_KEY}={run}" if run else LABEL_KEY
    return [c["Id"] for c in api.containers(all=True, quiet=True, filters={"label": label})]


def has_image(api: docker.APIClient) -> bool:
    try:
        api.inspect_image(IMAGE)
    except docker.errors.ImageNotFound:
        return False
    return True


def _ensure_image(api: docker.APIClient) -> bool:
    """Build the image unless it is there; True when this call built it."""
    if has_image(api):
        return False
    # No labels: an image's labels are inherited by its containers.
    build_busybox_image(api, IMAGE, {})
    return True


def _create(api: docker.APIClient, run: str) -> str:
    def create():
        return api.create_container(
            IMAGE,
            command=["sleep", "3600"],
            name=f"foreign-{run}-{uuid.uuid4().hex[:12]}",
            labels={LABEL_KEY: run},
        )["Id"]

    try:
        return create()
    except docker.errors.ImageNotFound:
        # A concurrent `down` removed the image between our check and this create.
        _ensure_image(api)
        return create()
    except docker.errors.APIError as exc:
        # A create the engine did but whose answer timed out under load leaves its name
        # taken: a fresh name, once (the container already made is counted at the next `up`).
        if exc.status_code != 409:
            raise
        return create()


def _in_parallel(items, work: Callable, what: str, report=print) -> int:
    """work(item) for every item on THREADS threads, with progress every 1,000 or 10 %."""
    total, done = len(items), 0
    started = time.perf_counter()
    step = max(1_000, total // 10)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            for future in futures:
                future.result()
                done += 1
                if done % step == 0 and done < total:
                    report(
                        f"  {what} {done}/{total} ({done / (time.perf_counter() - started):.0f}/s)"
                    )
        except BaseException:
            # Ctrl-C or an engine error: stop queueing; what was made keeps its run label.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if total:
        report(f"  {what} {total} in {time.perf_counter() - started:.1f} s")
    return done


def up(api: docker.APIClient, count: int, run: str | None = None, report=print) -> Topped:
    """Top the engine up to `count` foreign containers (any run's count); new ones get `run`."""
    run = run or new_run_id()
    existing = len(ids(api))
    missing = max(0, count - existing)
    image_built = _ensure_image(api) if missing else False
    report(f"foreign: {existing} there, creating {missing} (run {run})")
    _in_parallel(range(missing), lambda _: _create(api, run), "created", report)
    return Topped(run=run, existing=existing, created=missing, image_built=image_built)


def down(api: docker.APIClient, run: str | None = None, *, image: bool = True, report=print) -> int:
    """Remove the foreign containers of `run` (all of them without one), then the image if
    `image` and nothing uses it any more. Returns how many containers were removed."""
    doomed = ids(api, run)
    report(f"foreign: removing {len(doomed)}" + (f" of run {run}" if run else ""))

    def remove(container_id):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(container_id, force=True, v=True)

    removed = _in_parallel(doomed, remove, "removed", report)
    if image:
        # The engine refuses (409) while any container, another run's included, uses it.
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            api.remove_image(IMAGE)
    return removed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="top the engine up to N foreign containers")
    up_parser.add_argument("count", nargs="?", type=int, default=DEFAULT_COUNT)
    up_parser.add_argument("--run", help="label value for the new ones (default: a new id)")
    down_parser = commands.add_parser("down", help="remove foreign containers")
    down_parser.add_argument("--run", help="only this run's (default: every foreign container)")
    commands.add_parser("count", help="how many foreign containers there are")
    args = parser.parse_args(argv)
    api = engine_api()
    if args.command == "up":
        topped = up(api, args.count, args.run)
        print(f"foreign: {topped.total} on the engine ({topped.created} new, run {topped.run})")
    elif args.command == "down":
        down(api, args.run)
        print(f"foreign: {len(ids(api))} left on the engine")
    else:
        print(len(ids(api)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\ninterrupted; `python bench/foreign.py down` removes what was made")
        sys.exit(130)
