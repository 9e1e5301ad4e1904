"""Container logs as a stream that keeps up with the engine and closes from any thread.

docker-py's log iterator parses the multiplexed stream one frame (one line) at a time in
Python, which costs more than the engine takes to send the lines. The live viewer does not
need that: `pieces()` hands over the body bytes as they arrive and the browser splits the
8-byte frame headers itself. `text()` does the split here, for downloads.
"""

import codecs
from collections.abc import Iterator

from . import raw_http
from .client import api, translate_errors
from .responses import ClosableResponse

STDOUT, STDERR = 1, 2
_HEADER = 8


class LogStream(ClosableResponse):
    """An open GET /containers/{id}/logs: `pieces()` are the body as it arrives (HTTP
    chunking undone, Docker's frame headers kept).

    Iterate in one thread; call `close()` from any other to stop the iteration at once.
    """

    read_size = 256 * 1024

    def __init__(self, response, *, multiplexed: bool):
        super().__init__(response)
        self.multiplexed = multiplexed

    def text(self) -> Iterator[tuple[int, str]]:
        """(stream, text) pieces in arrival order, frame headers removed, UTF-8 decoded."""
        decoders = {s: codecs.getincrementaldecoder("utf-8")(errors="replace") for s in (1, 2)}
        if not self.multiplexed:
            for piece in self.pieces():
                yield STDOUT, decoders[STDOUT].decode(piece)
            return
        pending = bytearray()
        for piece in self.pieces():
            pending += piece
            pos, size = 0, len(pending)
            while size - pos >= _HEADER:
                end = pos + _HEADER + int.from_bytes(pending[pos + 4 : pos + 8], "big")
                if end > size:
                    break
                stream = STDERR if pending[pos] == STDERR else STDOUT
                yield stream, decoders[stream].decode(bytes(pending[pos + _HEADER : end]))
                pos = end
            del pending[:pos]


def engine_time(ns: int) -> str:
    """Nanoseconds since the epoch as the engine reads a time ("seconds.nanoseconds")."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def log_params(*, tail: int | None, follow: bool, timestamps: bool) -> dict:
    """The query of a logs call, a container's or a service's: both streams, the last `tail`
    lines (None: all), then following or not."""
    return {
        "stdout": 1,
        "stderr": 1,
        "follow": int(follow),
        "timestamps": int(timestamps),
        "tail": "all" if tail is None else str(tail),
    }


def open_log_stream(
    container_id: str,
    *,
    tail: int | None = 1000,
    follow: bool = True,
    timestamps: bool = False,
    since_ns: int | None = None,
    until_ns: int | None = None,
    tty: bool = False,
) -> LogStream:
    """Open the logs of a container (stdout and stderr, the last `tail` lines, then follow).

    `since_ns` / `until_ns` (nanoseconds since the epoch, on the engine's clock) keep only
    lines logged at or after / at or before that time. The engine takes the last `tail`
    lines first and filters them afterwards, and a read with `until_ns` stops at the first
    line logged later. `tty` says whether the container has a TTY (its logs are then one
    raw stream). Raises NotFound, EngineUnavailable, EngineError.
    """
    client = api()
    params = log_params(tail=tail, follow=follow, timestamps=timestamps)
    if since_ns is not None:
        params["since"] = engine_time(since_ns)
    if until_ns is not None:
        params["until"] = engine_time(until_ns)
    with translate_errors():
        # timeout=None: a quiet container must not end a followed stream.
        response = raw_http.get(
            client, "/containers/{0}/logs", container_id, params=params, stream=True, timeout=None
        )
    return LogStream(response, multiplexed=not tty)
