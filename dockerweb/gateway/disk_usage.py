"""Disk usage for pages (volume sizes, the dashboard's summary): one disk-usage query in
flight per process, its answer kept briefly.

The engine answers `system df` by walking every volume (and every layer): 1.8 s alone at
10,000 containers, tens of seconds on a busy engine, and engine 20.10 (API 1.41) can't be
asked for volumes only. So no page waits for it: pages show "measuring…" and fetch the sizes
afterwards, and here every such request, however many people look, shares one query:
the first one asks the engine (with DF_TIMEOUT, not the ordinary call timeout), the others
wait for the same answer, and the answer, or its failure, serves everyone for
DF_CACHE_SECONDS (a failure too, so a slow engine isn't asked again by every viewer).
The dashboard doesn't even wait: `summary_now()` starts the query in a thread of its own and
says how long it has been under way, so a page polls for the answer and shows its progress.
"""

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from . import system
from .client import current_connection, engine_address, using
from .errors import EngineError, EngineUnavailable, GatewayError

logger = logging.getLogger(__name__)

# A cached answer missing a volume someone asks about (created since) is measured again,
# but no sooner than this after it was taken: a name that will never be in an answer
# (removed meanwhile) can't turn the cache into a query per request.
REMEASURE_AFTER = 2.0
# Waiters give the asking request this long beyond its own timeout to hand the answer over.
_HANDOVER = 1.0


@dataclass(frozen=True, slots=True)
class Measurement:
    sizes: dict[str, int]  # volume name → bytes; -1 when the engine doesn't know
    taken_at: float  # time.monotonic()
    summary: system.DiskUsage | None = None  # the whole answer: images, containers, build cache


@dataclass(eq=False)
class _Flight:
    """One disk-usage query under way, and whoever waits for it."""

    done: threading.Event = field(default_factory=threading.Event)
    outcome: Measurement | GatewayError | None = None
    waiters: int = 0
    started_at: float = field(default_factory=time.monotonic)


_lock = threading.Lock()
# Per engine address: a switched DOCKER_HOST never gets another engine's sizes.
_answers: dict[str, tuple[float, Measurement | GatewayError]] = {}
_flights: dict[str, _Flight] = {}
_last_good: dict[str, Measurement] = {}


def _usable(address: str, wanted: Iterable[str], now: float):
    """The kept outcome if it may still serve, else None. Called with _lock held."""
    kept = _answers.get(address)
    if kept is None or now - kept[0] >= settings.DF_CACHE_SECONDS:
        return None
    outcome = kept[1]
    if isinstance(outcome, Measurement) and now - kept[0] >= REMEASURE_AFTER:
        if any(name not in outcome.sizes for name in wanted):
            return None
    return outcome


def volume_sizes(wanted: Iterable[str] = (), *, timeout: float | None = None) -> Measurement:
    """The engine's volume sizes, from a recent answer or the one query under way.

    `wanted`: the names the caller shows (a recent answer that lacks one is refreshed).
    `timeout`: seconds to wait (default DF_TIMEOUT). Raises EngineUnavailable (unreachable,
    or no answer in time), EngineError.
    """
    wanted = tuple(wanted)
    timeout = settings.DF_TIMEOUT if timeout is None else timeout
    address = engine_address()
    with _lock:
        outcome = _usable(address, wanted, time.monotonic())
        flight = asking = None
        if outcome is None:
            flight = _flights.get(address)
            asking = flight is None
            if asking:
                flight = _flights[address] = _Flight()
            else:
                flight.waiters += 1
    if asking:
        _ask(address, flight, timeout)
        outcome = flight.outcome
    elif flight is not None:
        if not flight.done.wait(timeout + _HANDOVER):
            raise EngineUnavailable(
                address, f"no answer to the disk-usage query within {timeout:g} s"
            )
        outcome = flight.outcome
    if isinstance(outcome, GatewayError):
        # The kept failure is raised to every asker: without its old traceback, which each
        # raise would otherwise lengthen.
        raise outcome.with_traceback(None)
    return outcome


def _ask(address: str, flight: _Flight, timeout: float) -> None:
    """Query the engine for everyone waiting on `flight`; always ends the flight."""
    try:
        summary = system.disk_usage(timeout=timeout)
        outcome = Measurement(summary.volume_sizes, time.monotonic(), summary)
    except GatewayError as exc:
        outcome = exc
    except Exception as exc:
        # An answer we can't read must still end the flight, or its waiters hang.
        logger.exception("Reading the engine's disk-usage answer failed")
        outcome = EngineError(f"The engine's disk-usage answer could not be read: {exc}")
    with _lock:
        _answers[address] = (time.monotonic(), outcome)
        if isinstance(outcome, Measurement):
            _last_good[address] = outcome
        if _flights.get(address) is flight:
            del _flights[address]
    flight.outcome = outcome
    flight.done.set()


def last_known(name: str) -> int | None:
    """A volume's size in the last answer the engine gave, however old; never asks."""
    with _lock:
        measurement = _last_good.get(engine_address())
    size = measurement.sizes.get(name, system.UNKNOWN_SIZE) if measurement else -1
    return None if size < 0 else size


def summary(*, timeout: float | None = None) -> system.DiskUsage:
    """The whole disk-usage summary, from a recent answer or the one query under way
    (waiting for it, as `volume_sizes`). Raises EngineUnavailable, EngineError."""
    return volume_sizes((), timeout=timeout).summary


@dataclass(frozen=True, slots=True)
class Pending:
    """The query is under way (started `seconds` ago); ask again for its answer."""

    seconds: float


def summary_now() -> Measurement | GatewayError | Pending:
    """The engine's disk-usage summary without waiting: a recent answer (or failure), else
    the query under way — started now, in a thread of its own, if none is. Never raises."""
    address = engine_address()
    with _lock:
        now = time.monotonic()
        outcome = _usable(address, (), now)
        if outcome is not None:
            return outcome
        flight = _flights.get(address)
        if flight is not None:
            return Pending(now - flight.started_at)
        flight = _flights[address] = _Flight()
    connection = current_connection()

    def ask_in_background():
        with using(connection):
            _ask(address, flight, settings.DF_TIMEOUT)

    threading.Thread(target=ask_in_background, name="disk-usage", daemon=True).start()
    return Pending(0.0)


def last_summary() -> Measurement | None:
    """The last answer the engine gave, however old; never asks."""
    with _lock:
        return _last_good.get(engine_address())


def waiting() -> int:
    """How many requests wait for the query under way (0 when none is)."""
    with _lock:
        flight = _flights.get(engine_address())
        return flight.waiters if flight is not None else 0


def forget() -> None:
    """Drop kept answers (tests; after the engine changed under the portal)."""
    with _lock:
        _answers.clear()
        _last_good.clear()
