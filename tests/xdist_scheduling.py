"""How `pytest -n 2 --dist loadfile` (pytest-xdist) shares the suite between workers.

tests/conftest.py puts this scheduler in place of xdist's own for `--dist loadfile`. It keeps
loadfile's rule — a file's tests go to one worker, so its module fixtures (a cluster of
portal processes, a registry full of images) are set up once — and adds what this suite needs:

- **Each worker runs its tests in collection order.** Every worker collects the same sorted
  list: pytest-django's order (tests on a rolled-back database before those on the
  transactional one, which empties it, migrations' rows included), then conftest's (browser
  tests last: pytest-playwright leaves an event loop running that breaks in-process async
  code after it). A worker is only given units that come after everything it was given. A
  file whose tests were sorted apart (its browser part, say) makes one unit per stretch.
  xdist's reordering by size is not used.
- **Engine-wide tests run alone.** A prune takes every unused volume or dangling image on the
  engine, whoever made it; beside another worker it would take that worker's objects from
  under its tests. conftest.ENGINE_WIDE_TESTS names them. Those in files named
  `test_browser_*` run at the very end, once every other worker has finished; the others at
  the very start, before any other worker gets a test (that worker then goes on after them
  in the collection, the others from its beginning).

The controller knows tests by node id only (it collects nothing), hence a list of names.
xdist runs a worker's next test only once it knows the one after it (for teardown), so a
unit is released to one worker while the others are kept busy or idle — never a test "paused".
"""

from collections import Counter, OrderedDict

from xdist.scheduler import LoadScopeScheduling

ALONE_FIRST = " (alone, first)"
ALONE_LAST = " (alone, last)"


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


class SuiteScheduling(LoadScopeScheduling):
    def __init__(self, config, log=None, *, engine_wide, runs_last):
        """`engine_wide(nodeid)`: the test runs alone; `runs_last(nodeid)`: such a test runs
        at the end (else at the start)."""
        super().__init__(config, log)
        self._engine_wide = engine_wide
        self._runs_last = runs_last
        self._unit_of: dict[str, str] = {}
        self._first_node = None
        self._first_units: list[dict[str, bool]] = []  # the very units handed to _first_node
        self._held: OrderedDict[str, dict[str, bool]] = OrderedDict()  # run alone, last
        self._span: dict[str, tuple[int, int]] = {}  # unit → its first and last position
        self._last_position: dict = {}  # worker → the last position it was given
        self._anywhere: set[str] = set()  # units a crashed worker gave back

    # -- planning ------------------------------------------------------------------------

    def _split_scope(self, nodeid: str) -> str:
        return self._unit_of[nodeid]

    def _plan(self, collection: list[str]):
        """(units run alone first, the others in collection order, units run alone last)."""
        first, normal, last = OrderedDict(), OrderedDict(), OrderedDict()
        runs: Counter[str] = Counter()
        previous = None
        for nodeid in collection:
            path = _file(nodeid)
            if self._engine_wide(nodeid):
                if self._runs_last(nodeid):
                    target, key = last, path + ALONE_LAST
                else:
                    target, key = first, path + ALONE_FIRST
            else:
                if path != previous:  # a new stretch of this file (its browser part, say)
                    runs[path] += 1
                    previous = path
                target = normal
                key = path if runs[path] == 1 else f"{path} (part {runs[path]})"
            target.setdefault(key, {})[nodeid] = False
            self._unit_of[nodeid] = key
        return first, normal, last

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # a node was added later (a crashed one replaced)
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        position = {nodeid: index for index, nodeid in enumerate(self.collection)}
        first, normal, self._held = self._plan(self.collection)
        for key, unit in (*first.items(), *normal.items(), *self._held.items()):
            self._span[key] = (position[next(iter(unit))], position[next(reversed(unit))])
        self.workqueue = OrderedDict(normal)
        if first:
            self._first_node = self.nodes[0]
            for key, unit in first.items():
                self._assign(self._first_node, key, unit)
            self._first_units = list(first.values())
        for node in self.nodes:
            self._reschedule(node)

    # -- handing out ---------------------------------------------------------------------

    def _first_running(self) -> bool:
        return any(not all(unit.values()) for unit in self._first_units)

    def _next_for(self, node) -> str | None:
        """The first queued unit that comes after everything `node` was given: a worker
        runs its tests in collection order (pytest-django's too: tests on the transactional
        database, which empties it, after those on a rolled-back one)."""
        after = self._last_position.get(node, -1)
        return next(
            (key for key in self.workqueue if key in self._anywhere or self._span[key][0] > after),
            None,
        )

    def _assign(self, node, key: str, unit: dict[str, bool]) -> None:
        self.assigned_work.setdefault(node, {})[key] = unit
        if key in self._span:
            last = self._last_position.get(node, -1)
            self._last_position[node] = max(last, self._span[key][1])
        collection = self.registered_collections[node]
        node.send_runtest_some(
            [collection.index(nodeid) for nodeid, done in unit.items() if not done]
        )

    def _assign_work_unit(self, node) -> None:
        key = self._next_for(node)
        assert key is not None
        self._assign(node, key, self.workqueue.pop(key))

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        if self._first_running() and node is not self._first_node:
            return  # the first units run alone
        if self._pending_of(self.assigned_work[node]) > 2:
            return  # enough to go on with (xdist's low-water mark)
        if self._next_for(node) is not None:
            self._assign_work_unit(node)
            return
        # Nothing left that this worker may run.
        if self._held:
            others = [other for other in self.nodes if other is not node]
            if any(not other.shutting_down for other in others):
                node.shutdown()  # another worker will run the last units
            elif not others:  # every other worker has finished: it runs them alone
                while self._held:
                    self._assign(node, *self._held.popitem(last=False))
            return  # else: wait until the others have finished
        node.shutdown()

    def mark_test_complete(self, node, item_index: int, duration: float = 0) -> None:
        was_first = self._first_running()
        super().mark_test_complete(node, item_index, duration)
        if was_first and not self._first_running():
            for other in self.nodes:
                if other is not node:
                    self._reschedule(other)

    def remove_node(self, node):
        if node is self._first_node:
            # It crashed or finished: either way nothing of the first phase is left running.
            self._first_node, self._first_units = None, []
        before = set(self.workqueue)
        crashed = super().remove_node(node)  # a crashed worker's units go back in the queue
        self._anywhere |= set(self.workqueue) - before  # ...for any worker to take
        for other in self.nodes:
            self._reschedule(other)
        return crashed

    @property
    def tests_finished(self) -> bool:
        return not self._held and super().tests_finished

    @property
    def has_pending(self) -> bool:
        return bool(self._held) or super().has_pending
