"""The dashboard's top containers by CPU and memory, measured with a bounded number of calls.

The engine has no "stats of everything" call: one container's CPU % costs one stats call,
and the engine takes about a second to answer it. So each engine gets one sampler per portal
process, and it runs only while someone looks at the dashboard (`touch()`, from the page's
polling; it stops IDLE_SECONDS after the last one). A round starts every
DASHBOARD_SAMPLE_SECONDS and measures at most DASHBOARD_SAMPLE_MAX running containers,
DASHBOARD_SAMPLE_PARALLEL at a time, the least recently measured first: a new container is
measured in the next round, and with more running containers than a round takes, every one
is measured again within ceil(running / max) rounds. The last figure of each container is
kept with its time, so the page says how old it is. The running containers come from the
live model: a round makes no listing call.
"""

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from dockerweb import gateway
from dockerweb.gateway.stats import StatsSample
from dockerweb.live_model import ContainerQuery

# Nobody polled for this long (the page polls every few seconds): the sampler stops.
IDLE_SECONDS = 60.0
TOP = 5


@dataclass(frozen=True, slots=True)
class Running:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Measured:
    id: str
    name: str
    cpu_percent: float | None
    memory_used: int
    memory_limit: int
    at: float  # time.monotonic() of the measurement

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.monotonic() if now is None else now) - self.at)


class Sampler:
    """`sample(id) -> StatsSample` and `running() -> [Running]` are the engine's by default;
    tests give their own."""

    def __init__(
        self,
        engine=None,
        *,
        sample: Callable[[str], StatsSample] | None = None,
        running: Callable[[], list[Running]] | None = None,
    ):
        self.engine = engine
        self._sample = sample or self._sample_from_engine
        self._running = running or self._running_from_model
        self._lock = threading.Lock()
        self._measured: dict[str, Measured] = {}
        self._tried_at: dict[str, float] = {}  # when each was last asked (answered or not)
        self._asked_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.rounds = 0
        self.running_count = 0

    # -- what the page uses -----------------------------------------------------------------

    def touch(self) -> None:
        """Someone looks: keep sampling (start if stopped)."""
        with self._lock:
            self._asked_at = time.monotonic()
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="dashboard-sampler", daemon=True
            )
            self._thread.start()

    def top(self, by: str, limit: int = TOP) -> list[Measured]:
        """The `limit` containers using the most `by` ("cpu" or "memory"), as last measured."""
        with self._lock:
            measured = list(self._measured.values())
        if by == "cpu":
            measured = [m for m in measured if m.cpu_percent is not None]
            measured.sort(key=lambda m: m.cpu_percent, reverse=True)
        else:
            measured.sort(key=lambda m: m.memory_used, reverse=True)
        return measured[:limit]

    @property
    def measured_count(self) -> int:
        with self._lock:
            return len(self._measured)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    # -- rounds -----------------------------------------------------------------------------

    def run_round(self) -> int:
        """Measure the least recently measured running containers; returns the calls made
        (at most DASHBOARD_SAMPLE_MAX)."""
        running = {c.id: c for c in self._running()}
        with self._lock:
            for kept in (self._measured, self._tried_at):
                for gone in set(kept) - set(running):
                    del kept[gone]
            order = sorted(running.values(), key=lambda c: (self._tried_at.get(c.id, -1.0), c.id))
            chosen = order[: settings.DASHBOARD_SAMPLE_MAX]
            now = time.monotonic()
            for container in chosen:
                self._tried_at[container.id] = now
        if chosen:
            workers = min(settings.DASHBOARD_SAMPLE_PARALLEL, len(chosen))
            with ThreadPoolExecutor(workers, thread_name_prefix="dashboard-sample") as pool:
                answers = list(pool.map(self._measure, chosen))
            with self._lock:
                for container, answer in zip(chosen, answers, strict=True):
                    if answer is None:
                        self._measured.pop(container.id, None)  # stopped or gone meanwhile
                    elif container.id in self._tried_at:
                        self._measured[container.id] = answer
        self.rounds += 1
        self.running_count = len(running)
        return len(chosen)

    def rounds_to_cover(self) -> int:
        """Rounds after which every running container has been measured once more."""
        return max(1, math.ceil(self.running_count / settings.DASHBOARD_SAMPLE_MAX))

    def _measure(self, container: Running) -> Measured | None:
        try:
            sample = self._sample(container.id)
        except gateway.GatewayError:
            return None
        return Measured(
            id=container.id,
            name=container.name,
            cpu_percent=sample.cpu_percent,
            memory_used=sample.memory_used,
            memory_limit=sample.memory_limit,
            at=time.monotonic(),
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if time.monotonic() - self._asked_at > IDLE_SECONDS:
                    self._thread = None
                    return
            started = time.monotonic()
            self.run_round()
            wait = settings.DASHBOARD_SAMPLE_SECONDS - (time.monotonic() - started)
            self._stop.wait(max(wait, 0.0))

    # -- the engine's ---------------------------------------------------------------------

    def _running_from_model(self) -> list[Running]:
        if self.engine.sync.status != "up":
            return []
        page = self.engine.model.containers_page(
            ContainerQuery(state="running", sort="name", descending=False, per_page=10**7)
        )
        return [Running(c.id, c.name) for c in page.rows if c.state == "running"]

    def _sample_from_engine(self, container_id: str) -> StatsSample:
        with self.engine.using():
            return gateway.stats.sample_once(container_id)


_samplers_lock = threading.Lock()
_samplers: dict[tuple[str, str], Sampler] = {}


def sampler_for(engine) -> Sampler:
    """This process's sampler of `engine`."""
    key = (engine.name, engine.address)
    with _samplers_lock:
        sampler = _samplers.get(key)
        if sampler is None or sampler.engine is not engine:
            sampler = _samplers[key] = Sampler(engine)
        return sampler
