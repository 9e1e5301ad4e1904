"""Is each engine up, which version, how far away: a ping (timed) and a version call.

Asked by the Engines list (a fragment loaded after the page) and by the sidebar's engine
switcher (`status_of`). Each engine is probed on a connection of its own with a short
timeout, never the engine's page connection (whose timeout is the ordinary one), several
engines at once, and an answer is kept HEALTH_TTL seconds: however many pages ask, an
engine gets at most one probe per HEALTH_TTL, and a down engine never holds a page longer
than PROBE_TIMEOUT.
"""

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from dockerweb import engines, gateway
from dockerweb.engine_specs import EngineSpec
from dockerweb.gateway.client import Connection

HEALTH_TTL = 5.0
PROBE_TIMEOUT = 3.0
# A little longer than one probe may take (connect + ping + version share PROBE_TIMEOUT each).
_WAIT = PROBE_TIMEOUT * 2 + 1


@dataclass(frozen=True)
class Health:
    name: str
    up: bool
    version: str = ""
    latency_ms: float | None = None
    problem: str = ""  # why it is down
    checked_at: float = 0.0  # time.monotonic()

    @property
    def state(self) -> str:
        return "up" if self.up else "down"


_lock = threading.Lock()
_answers: dict[EngineSpec, Health] = {}
_probing: dict[EngineSpec, Future] = {}
# Kept between probes: a TLS or SSH handshake per probe would cost more than the probe.
_connections: dict[EngineSpec, Connection] = {}
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="engine-health")


def _connection(spec: EngineSpec) -> Connection:
    with _lock:
        connection = _connections.get(spec)
        if connection is None:
            connection = _connections[spec] = Connection(
                spec.address, PROBE_TIMEOUT, spec.tls, spec.ssh
            )
        return connection


def _probe(spec: EngineSpec) -> Health:
    try:
        answer = gateway.system.probe(_connection(spec))
    except gateway.EngineUnavailable as exc:
        health = Health(spec.name, False, problem=exc.reason)
    except gateway.GatewayError as exc:
        health = Health(spec.name, False, problem=str(exc))
    else:
        health = Health(spec.name, True, answer.version, answer.latency_ms)
    health = Health(**{**health.__dict__, "checked_at": time.monotonic()})
    with _lock:
        _answers[spec] = health
        _probing.pop(spec, None)
    return health


def _fresh(spec: EngineSpec) -> Health | None:
    answer = _answers.get(spec)
    if answer is not None and time.monotonic() - answer.checked_at < HEALTH_TTL:
        return answer
    return None


def _future(spec: EngineSpec) -> Future:
    """The probe of `spec` under way, or one started now (never two at once)."""
    with _lock:
        future = _probing.get(spec)
        if future is None:
            future = _probing[spec] = _pool.submit(_probe, spec)
        return future


def _forget_gone(current: set[EngineSpec]) -> None:
    """Drop what belongs to engines removed or reconfigured since (their connections too)."""
    with _lock:
        gone = [spec for spec in _connections if spec not in current]
        closing = [_connections.pop(spec) for spec in gone]
        for spec in [spec for spec in _answers if spec not in current]:
            del _answers[spec]
    for connection in closing:
        connection.close()


def statuses(names: list[str] | None = None) -> dict[str, Health]:
    """The health of each engine named (default: every engine), probed in parallel where
    no recent answer is kept; an engine that doesn't answer in time is down."""
    every = engines.specs()
    _forget_gone(set(every.values()))
    wanted = [every[name] for name in (names if names is not None else every) if name in every]
    answers: dict[str, Health] = {}
    pending: dict[str, Future] = {}
    for spec in wanted:
        answer = _fresh(spec)
        if answer is not None:
            answers[spec.name] = answer
        else:
            pending[spec.name] = _future(spec)
    deadline = time.monotonic() + _WAIT
    for name, future in pending.items():
        try:
            answers[name] = future.result(timeout=max(deadline - time.monotonic(), 0))
        except FutureTimeout:
            answers[name] = Health(
                name, False, problem=f"no answer within {_WAIT:g} s", checked_at=time.monotonic()
            )
    return {spec.name: answers[spec.name] for spec in wanted}


def status_of(name: str) -> Health:
    """One engine's health (cached HEALTH_TTL seconds; probed now if no recent answer).

    An unknown name is down ("no such engine")."""
    answer = statuses([name]).get(name)
    return answer if answer is not None else Health(name, False, problem="no such engine")


def forget() -> None:
    """Probe again on the next ask (tests; an engine was just changed)."""
    with _lock:
        _answers.clear()
