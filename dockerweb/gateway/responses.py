"""An engine response that is read as it arrives in one thread and closed from any other.

The followed streams (logs, stats) are read by a thread of their own for as long as they
last; whoever stops following (a socket closed, the last viewer gone) is on another thread
and must be able to end that read at once, not at the next byte the engine sends.
"""

import http.client
import threading
from collections.abc import Iterator

from .client import close_response


class ClosableResponse:
    """An open streaming response. Iterate `pieces()` (or what a subclass builds on it) in
    one thread; `close()` from any other ends the iteration at once."""

    read_size = 64 * 1024  # the most one piece holds

    def __init__(self, response):
        self._response = response
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            close_response(self._response)

    def pieces(self) -> Iterator[bytes]:
        """The body as it arrives (HTTP chunking undone), until it ends or close()."""
        body = self._response.raw._fp  # http.client response: read1() returns what has arrived
        try:
            while not self._closed.is_set():
                piece = body.read1(self.read_size)
                if not piece:
                    return
                yield piece
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # The socket was shut by close(), or the engine went away mid-stream (mid-chunk:
            # IncompleteRead).
            return
        finally:
            self.close()
