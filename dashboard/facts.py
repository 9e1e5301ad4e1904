"""The engine's facts (version, OS, CPUs…) for the dashboard: kept a few seconds per engine,
asked by one request at a time.

`docker info` counts every container and image, which takes a while on a busy engine: the
page shows kept facts at once and otherwise loads them afterwards (dashboard/views.py), so
the page itself never waits for the engine.
"""

import threading
import time

from django.conf import settings

from dockerweb import gateway
from dockerweb.gateway.system import EngineFacts

KEEP_SECONDS = 15.0
# A failure is kept too, more briefly: a down engine isn't asked by every viewer at once.
KEEP_FAILURE_SECONDS = 3.0

_lock = threading.Lock()
_kept: dict[str, tuple[float, EngineFacts | gateway.GatewayError]] = {}
_asking: dict[str, threading.Lock] = {}


def kept(engine) -> EngineFacts | gateway.GatewayError | None:
    """The facts (or failure) kept for `engine`, if recent enough; never asks."""
    with _lock:
        found = _kept.get(engine.address)
    if found is None:
        return None
    age = time.monotonic() - found[0]
    keep = KEEP_SECONDS if isinstance(found[1], EngineFacts) else KEEP_FAILURE_SECONDS
    return found[1] if age < keep else None


def facts(engine) -> EngineFacts:
    """Kept facts, or the engine's answer (one request asks, the others wait for it).
    Raises GatewayError."""
    answer = kept(engine)
    if answer is None:
        with _lock:
            asking = _asking.setdefault(engine.address, threading.Lock())
        # Two calls of the ordinary timeout each, and a little to hand over.
        if not asking.acquire(timeout=2 * settings.DOCKER_TIMEOUT + 1):
            raise gateway.EngineUnavailable(engine.address, "no answer to docker info in time")
        try:
            answer = kept(engine)
            if answer is None:
                try:
                    with engine.using():
                        answer = gateway.system.engine_facts()
                except gateway.GatewayError as exc:
                    answer = exc
                with _lock:
                    _kept[engine.address] = (time.monotonic(), answer)
        finally:
            asking.release()
    if isinstance(answer, gateway.GatewayError):
        raise answer.with_traceback(None)
    return answer


def forget() -> None:
    """Drop kept facts (tests)."""
    with _lock:
        _kept.clear()
