"""Run the benchmarks (all, or those named) and print a summary table.

    .venv/bin/python bench/run.py [containers_page] [logs_stream] [event_latency] [image_pull]
                                  [stream_fairness] [model_memory] [stats_fanout]
                                  [terminal_roundtrip] [multiprocess_fanout] [three_engines]
                                  [busy_engine]

Without names it runs them all, the busy-engine run last: it tops the engine up to
BENCH_FOREIGN foreign containers (default 10,000; bench/foreign.py) for minutes, so
`BENCH_FOREIGN=0` leaves it out. three_engines starts two dockerds of its own (root, as
the tests' extra engines need).

Benchmarks report; they don't fail CI: the exit code is 0 whether goals are met or not,
and 1 only when a benchmark crashed.
"""

import importlib
import os
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.portal import LABEL_KEY, RUN_ID, exit_cleanly_on_sigterm  # noqa: E402 - after the fix-up

BENCHMARKS = (
    "containers_page",
    "logs_stream",
    "event_latency",
    "image_pull",
    "stream_fairness",
    "model_memory",
    "stats_fanout",
    "terminal_roundtrip",
    "multiprocess_fanout",
    "three_engines",
    "busy_engine",
)


def default_benchmarks() -> list[str]:
    if os.environ.get("BENCH_FOREIGN", "").strip() == "0":
        return [name for name in BENCHMARKS if name != "busy_engine"]
    return list(BENCHMARKS)


def main(argv: list[str]) -> int:
    chosen = argv or default_benchmarks()
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    exit_cleanly_on_sigterm()
    print(f"bench run {RUN_ID} (label {LABEL_KEY}={RUN_ID})\n")
    results, crashed = [], []
    for name in chosen:
        started = time.perf_counter()
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except KeyboardInterrupt:
            print("\ninterrupted")
            return 130
        except Exception:  # noqa: BLE001 - report it, go on with the others
            traceback.print_exc()
            crashed.append(name)
            print()
            continue
        # A benchmark reports one Result or several (busy_engine: one per page and figure).
        many = result if isinstance(result, list) else [result]
        results += [
            (r, time.perf_counter() - started if i == 0 else None) for i, r in enumerate(many)
        ]
        print()
    print_summary(results, crashed)
    # A part of a benchmark that crashed (busy_engine's phases) reports itself as a figure.
    return 1 if crashed or any(r.figure.startswith("CRASHED") for r, _ in results) else 0


def print_summary(results, crashed) -> None:
    header = ("benchmark", "portal", "raw engine", "ratio", "goal", "", "time")
    rows = [
        (
            r.name,
            r.figure,
            r.raw,
            f"{r.ratio:.2f}" if r.ratio is not None else "-",
            r.goal,
            r.verdict(),
            f"{seconds:.0f} s" if seconds is not None else "",
        )
        for r, seconds in results
    ]
    rows += [(name, "CRASHED", "", "", "", "", "") for name in crashed]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    notes = [f"{r.name}: {note}" for r, _ in results for note in r.notes]
    if notes:
        print("\n" + "\n".join(notes))
    print(
        "\nFigures depend on the machine and on what else runs on it; compare ratios, "
        "taken in the same run, rather than absolute times."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
