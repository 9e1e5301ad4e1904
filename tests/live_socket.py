"""A websocket of the real portal read in a thread of its own (tests and bench).

Every message is kept with the time it arrived, and the close code once the server closes
it, so a test can open sockets, do other things for a minute, and then look at what each
one got. The client sends nothing by itself (no pings): an idle socket stays idle.
"""

import json
import threading
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def live_path(engine: str = "local") -> str:
    """The live-state socket of an engine's pages."""
    return f"/engines/{engine}/ws/live/"


def job_path(job_id: str, engine: str = "local") -> str:
    return f"/engines/{engine}/ws/jobs/{job_id}/"


class Socket:
    def __init__(self, base_url: str, path: str, sessionid: str, *, origin: str | None = None):
        self.url = base_url.replace("http://", "ws://") + path
        self.ws = connect(
            self.url,
            additional_headers={"Cookie": f"sessionid={sessionid}", "Origin": origin or base_url},
            proxy=None,
            open_timeout=20,
            ping_interval=None,  # idle means idle: nothing from this side at all
            max_size=None,
            max_queue=None,  # read as fast as it comes: a slow test never holds the server
            legacy=True,  # kept open across calls (not in a `with`): close() ends it
        )
        self.opened_at = time.monotonic()
        self.messages: list[tuple[float, dict]] = []  # (time.monotonic() on arrival, message)
        self.close_code: int | None = None
        self._reader = threading.Thread(target=self._read, name=f"socket {path}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                text = self.ws.recv()
                self.messages.append((time.monotonic(), json.loads(text)))
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else 1006

    @property
    def open(self) -> bool:
        return self.close_code is None and self._reader.is_alive()

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def received(self, **fields) -> list[dict]:
        """The messages so far whose fields equal `fields`."""
        return [m for _, m in list(self.messages) if all(m.get(k) == v for k, v in fields.items())]

    def close(self) -> None:
        self.ws.close()
        self._reader.join(5)
