"""The engine's socket forwarded, with the request each connection carries last noted:
counting at the engine's side what the portal really holds open (its stats streams…).

Point the portal's DOCKER_HOST at `RequestProxy.address`. A connection counts as open until
the portal's side of it ends; a keep-alive connection counts for its latest request only.
"""

import re
from pathlib import Path

from tests.socket_proxy import SocketProxy

_REQUEST = re.compile(rb"(?:GET|POST|PUT|DELETE|HEAD) (\S+) HTTP/1\.1\r\n")


class RequestProxy(SocketProxy):
    def __init__(self, path: Path | str):
        super().__init__(path)
        self.last_request: dict[int, bytes] = {}  # by forwarded connection
        self.seen: list[bytes] = []  # every request path, in order

    def _pipe(self, pair, source, sink) -> None:
        if source is not pair.client:
            return super()._pipe(pair, source, sink)
        real_recv = source.recv

        def recv(size: int) -> bytes:
            data = real_recv(size)
            for path in _REQUEST.findall(data):
                with self._lock:
                    self.last_request[id(pair)] = path
                    self.seen.append(path)
            return data

        try:
            return super()._pipe(pair, _WatchedSocket(source, recv), sink)
        finally:
            with self._lock:
                self.last_request.pop(id(pair), None)

    def open_requests(self, pattern: str) -> int:
        """Connections still open whose latest request path matches `pattern` (a regex)."""
        found = re.compile(pattern.encode())
        with self._lock:
            return sum(1 for path in self.last_request.values() if found.search(path))

    def requests(self, pattern: str) -> int:
        """Requests sent so far whose path matches `pattern`."""
        found = re.compile(pattern.encode())
        with self._lock:
            return sum(1 for path in self.seen if found.search(path))


class _WatchedSocket:
    """A socket whose recv() is watched (socket objects don't take new attributes)."""

    def __init__(self, sock, recv):
        self._sock, self.recv = sock, recv

    def __getattr__(self, name):
        return getattr(self._sock, name)
