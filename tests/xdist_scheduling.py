"""How `pytest -n 2 --dist loadfile` (pytest-xdist) shares the suite between workers.

tests/conftest.py puts this scheduler in place of xdist's own for `--dist loadfile`. It keeps
loadfile's rule — a file's tests go to one worker, so its module fixtures (a cluster of
portal processes, a registry full of images) are set up once — and adds what this suite needs:

- **Collection order is kept.** Every worker collects the same sorted list (browser tests
  last, conftest's `pytest_collection_modifyitems`: pytest-playwright leaves an event loop
  running that breaks in-process async code after it). Work units are handed out in that
  order, so each worker also runs its browser tests after the others. A file whose browser
  tests were sorted away from its other tests makes two units (xdist's loadfile made one, and
  so ran the browser part early). xdist's reordering by size is not used.
- **Engine-wide tests run alone.** A prune takes every unused volume or dangling image on the
  engine, whoever made it; beside another worker it would take that worker's objects from
  under its tests. conftest.ENGINE_WIDE_TESTS names them. Those in files named
  `test_browser_*` run at the very end, once every other worker has finished; the others at
  the very start, before any other worker gets a test.

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
        first, normal, self._held = self._plan(self.collection)
        self.workqueue = OrderedDict(first)
        self.workqueue.update(normal)
        if first:
            self._first_node = self.nodes[0]
            for _ in first:
                self._assign_work_unit(self._first_node)
            self._first_units = list(self.assigned_work[self._first_node].values())
        for node in self.nodes:
            if not self.assigned_work[node] and self.workqueue and not self._first_running():
                self._assign_work_unit(node)
            self._reschedule(node)

    # -- the phases ----------------------------------------------------------------------

    def _first_running(self) -> bool:
        return any(not all(unit.values()) for unit in self._first_units)

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        if self._first_running():
            if node is self._first_node:  # it goes on (its last test needs a next one)
                super()._reschedule(node)
            return
        if not self.workqueue and self._held:
            others = [other for other in self.nodes if other is not node]
            if any(not other.shutting_down for other in others):
                node.shutdown()  # another worker will run the last units
            elif not others:  # every other worker has finished: now it runs alone
                self.workqueue.update(self._held)
                self._held.clear()
                self._assign_work_unit(node)
            return  # else: wait until the others have finished
        super()._reschedule(node)

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
        crashed = super().remove_node(node)
        for other in self.nodes:
            self._reschedule(other)
        return crashed

    @property
    def tests_finished(self) -> bool:
        return not self._held and super().tests_finished

    @property
    def has_pending(self) -> bool:
        return bool(self._held) or super().has_pending
