"""The scheduler of `make test`'s two workers (tests/xdist_scheduling.py), driven by fake
workers that behave like xdist's: a worker runs a test only once it has been sent the one
after it (or told to shut down), and a test takes a while, during which others may start.
Over many random interleavings: each test runs once, each worker runs its tests in collection
order (browser tests after the others), and an engine-wide test runs while no other worker has
started yet or after every other one has finished."""

import random
from types import SimpleNamespace

import pytest

from tests.conftest import engine_wide, runs_last
from tests.xdist_scheduling import SuiteScheduling

AUDIT = (
    "tests/test_audit_trail.py::test_each_change_leaves_exactly_one_entry_naming_the_real_object"
)
# A collection as pytest-django and conftest sort it: tests on a rolled-back database, then on
# the transactional one, then browser tests; a mixed file's browser test apart.
COLLECTION = [
    "tests/test_volumes.py::test_create",
    "tests/test_volumes.py::test_prune_shows_the_unused_volume_then_reports_reclaimed_space",
    "tests/test_volumes.py::test_remove",
    "tests/test_images_build.py::test_build_a",
    "tests/test_images_build.py::test_build_b",
    f"{AUDIT}[images:pull-pull]",
    f"{AUDIT}[images:prune-prune]",
    f"{AUDIT}[volumes:prune-prune]",
    f"{AUDIT}[volumes:create-create]",
    "tests/test_multiprocess.py::test_one",
    "tests/test_multiprocess.py::test_two",
    "tests/test_zeta.py::test_async",
    "tests/test_browser_containers.py::test_list",
    "tests/test_browser_volumes.py::test_browse",
    "tests/test_browser_volumes.py::"
    "test_data_volume_filled_by_a_container_is_browsed_guarded_and_pruned_in_the_browser",
    "tests/test_images_build.py::test_build_in_the_browser",
    "tests/test_browser_widths.py::test_widths",
]
BROWSER_FROM = COLLECTION.index("tests/test_browser_containers.py::test_list")


class FakeWorker:
    def __init__(self, name: str):
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.queue: list[int] = []
        self.running: int | None = None
        self.ran: list[int] = []
        self.finished = False

    def send_runtest_some(self, indices):
        self.queue.extend(indices)

    def shutdown(self):
        self.shutting_down = True

    def can_start(self) -> bool:
        # xdist's worker: the next test only once it knows the one after, or must stop.
        return (
            self.running is None
            and bool(self.queue)
            and (len(self.queue) > 1 or self.shutting_down)
        )


def _run(seed: int, workers: int = 2):
    config = SimpleNamespace(
        getvalue=lambda name: {"tx": [f"{workers}*popen"]}[name],
        option=SimpleNamespace(loadscopereorder=True),
        hook=None,
    )
    scheduler = SuiteScheduling(config, engine_wide=engine_wide, runs_last=runs_last)
    nodes = [FakeWorker(f"gw{i}") for i in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, list(COLLECTION))
    scheduler.schedule()
    rng = random.Random(seed)  # noqa: S311 - an interleaving, not a secret
    timeline = []  # ("start" | "end" | "finished", worker, index)
    while True:
        live = [n for n in nodes if not n.finished]
        moves = [("start", n) for n in live if n.can_start()]
        moves += [("end", n) for n in live if n.running is not None]
        moves += [
            ("finish", n) for n in live if n.shutting_down and not n.queue and n.running is None
        ]
        if not moves:
            break
        move, node = rng.choice(moves)
        if move == "start":
            node.running = node.queue.pop(0)
            timeline.append(("start", node.name, node.running))
        elif move == "end":
            index, node.running = node.running, None
            node.ran.append(index)
            timeline.append(("end", node.name, index))
            scheduler.mark_test_complete(node, index)
        else:
            node.finished = True
            timeline.append(("finished", node.name, None))
            scheduler.remove_node(node)
        if scheduler.tests_finished:
            for other in nodes:
                other.shutdown()
    return nodes, timeline, scheduler


@pytest.mark.parametrize("workers", [2, 3])
def test_every_test_runs_once_browser_tests_last_and_engine_wide_ones_alone(workers):
    alone = {i for i, nodeid in enumerate(COLLECTION) if engine_wide(nodeid)}
    assert len(alone) == 4  # the list in conftest names them
    for seed in range(300):
        nodes, timeline, scheduler = _run(seed, workers)
        assert all(n.finished for n in nodes), (seed, timeline)
        assert scheduler.tests_finished
        assert sorted(i for n in nodes for i in n.ran) == list(range(len(COLLECTION))), seed
        for node in nodes:  # in collection order (so browser tests last), but the last alone
            in_order = [i for i in node.ran if not runs_last(COLLECTION[i]) or i not in alone]
            assert in_order == sorted(in_order), (seed, node.name, node.ran)
            browser = [i >= BROWSER_FROM for i in node.ran]
            assert browser == sorted(browser), (seed, node.name, node.ran)
        for position, (event, worker, index) in enumerate(timeline):
            if event != "start" or index not in alone:
                continue
            if runs_last(COLLECTION[index]):  # every other worker finished before it
                finished = {w for event, w, _ in timeline[:position] if event == "finished"}
                assert finished == {n.name for n in nodes} - {worker}, (seed, timeline)
            else:  # no other worker started anything before it ended
                end = timeline.index(("end", worker, index))
                started = {w for event, w, _ in timeline[:end] if event == "start"}
                assert started == {worker}, (seed, timeline)
