"""A terminal socket of the real portal, driven as the Terminal tab drives it (tests, bench)."""

import json
import re
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def terminal_url(portal, container_id: str) -> str:
    return (
        portal.url.replace("http://", "ws://")
        + f"/engines/local/ws/containers/{container_id}/terminal/"
    )


class Terminal:
    """One socket: `open()` the exec, `type()` keystrokes, `read_until()` the output."""

    def __init__(self, portal, http, container_id: str, *, origin: str | None = None):
        headers = {
            "Cookie": f"sessionid={http.cookies['sessionid']}",
            "Origin": origin or portal.url,
        }
        self.ws = connect(
            terminal_url(portal, container_id),
            additional_headers=headers,
            proxy=None,
            open_timeout=10,
            max_size=None,
            legacy=True,  # kept open across calls (not in a `with`): the test closes it
        )
        self.output = ""
        self.states: list[dict] = []

    def open(self, command: str = "", user: str = "", size=(80, 24)) -> dict:
        """Ask for the exec; the first state message (connected, refused, stopped…)."""
        self.ws.send(json.dumps({"open": {"command": command, "user": user}, "size": list(size)}))
        return self.next_state()

    def type(self, text: str) -> None:
        self.ws.send(text.encode())

    def resize(self, cols: int, rows: int) -> None:
        self.ws.send(json.dumps({"resize": [cols, rows]}))

    def _take(self, timeout: float) -> None:
        message = self.ws.recv(timeout=timeout)
        if isinstance(message, bytes):
            self.output += message.decode(errors="replace")
        else:
            self.states.append(json.loads(message))

    def next_state(self, timeout: float = 20) -> dict:
        seen = len(self.states)
        deadline = time.monotonic() + timeout
        while len(self.states) == seen:
            self._take(max(0.01, deadline - time.monotonic()))
        return self.states[seen]

    def read_until(self, pattern: str, timeout: float = 20) -> re.Match:
        """Output until `pattern` (a regex) matches what came since the last match."""
        deadline = time.monotonic() + timeout
        while not (found := re.search(pattern, self.output)):
            self._take(max(0.01, deadline - time.monotonic()))
        self.output = self.output[found.end() :]
        return found

    def closed_code(self, timeout: float = 20) -> int:
        """Wait for the server to close the socket; its close code."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._take(max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006

    def close(self) -> None:
        self.ws.close()
