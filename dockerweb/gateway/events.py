"""The engine's events stream."""

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

from . import raw_http
from .client import api, translate_errors
from .types import EngineEvent


class EventStream:
    """GET /events, iterated in one thread and closable from another."""

    def __init__(self, stream):
        self._stream = stream

    def __iter__(self) -> Iterator[EngineEvent]:
        for raw in self._stream:
            actor = raw.get("Actor") or {}
            yield EngineEvent(
                type=raw.get("Type", ""),
                action=raw.get("Action", ""),
                id=actor.get("ID", raw.get("id", "")),
                attributes=actor.get("Attributes") or {},
                time_nano=raw.get("timeNano", 0),
            )

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # noqa: S110 - already closed or the engine is gone: nothing to stop
            pass


def open_event_stream(
    types: tuple[str, ...] = ("container",), *, since: float | None = None
) -> EventStream:
    """Follow engine events of the given object types from now on (or from `since`, unix
    seconds on the engine's clock: the engine replays what it recorded since then).

    Raises EngineUnavailable, EngineError.
    """
    with translate_errors():
        client = api()
        # docker-py's events() uses no read timeout, so a quiet engine keeps the stream open.
        stream = client.events(decode=True, since=since, filters={"type": list(types)})
    return EventStream(stream)


def engine_clock() -> float:
    """The engine's time now (unix seconds, to the second), from its answer's Date header:
    the engine's clock may differ from ours when it is another host.

    Raises EngineUnavailable, EngineError.
    """
    with translate_errors():
        # docker-py's ping() drops the headers.
        response = raw_http.get(api(), "/_ping")
    date = response.headers.get("Date")
    return parsedate_to_datetime(date).timestamp() if date else time.time()


def ping() -> None:
    """Raises EngineUnavailable unless the engine answers."""
    with translate_errors():
        api().ping()


def happened_between(since: float, until: float, types: tuple[str, ...] = ("container",)) -> bool:
    """Whether the engine recorded any event of these types in [since, until] (unix seconds).

    A bounded query: the engine answers from its event log and ends the response.
    Raises EngineUnavailable, EngineError.
    """
    with translate_errors():
        stream = api().events(since=since, until=until, decode=True, filters={"type": list(types)})
        try:
            return next(iter(stream), None) is not None
        finally:
            stream.close()
