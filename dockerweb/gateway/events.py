"""The engine's events stream."""

from collections.abc import Iterator

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


def open_event_stream(types: tuple[str, ...] = ("container",)) -> EventStream:
    """Follow engine events of the given object types from now on.

    Raises EngineUnavailable, EngineError.
    """
    with translate_errors():
        client = api()
        # docker-py's events() uses no read timeout, so a quiet engine keeps the stream open.
        stream = client.events(decode=True, filters={"type": list(types)})
    return EventStream(stream)


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
