"""Engines as objects: where one is (its connection), what the portal knows of it (its live
model) and how that knowledge is kept true (its sync thread).

Today the portal has one engine, the one the settings name; `current()` is the engine a
request or socket works with. A later step adds more engines (and picks one per request)
without views changing: they only ever ask `current()`.
"""

import contextlib
import threading

from django.conf import settings

from dockerweb import gateway
from dockerweb.gateway.client import Connection, connection_for
from dockerweb.live_model import LiveModel
from dockerweb.live_model.sync import ModelSync

LOCAL = "local"


class Engine:
    def __init__(self, name: str, connection: Connection):
        self.name = name
        self.connection = connection
        # The live model's own connection: its endless events stream and its calls don't
        # take connections from the pool pages use (nor get closed with it by `reset`).
        self.model_connection = Connection(connection.address, connection.timeout, connection.tls)
        self.model = LiveModel()
        self.sync = ModelSync(self)

    @property
    def address(self) -> str:
        return self.connection.address

    def using(self):
        """Gateway calls in this block go to this engine."""
        return gateway.client.using(self.connection)

    def live(self, timeout: float | None = None) -> LiveModel:
        """The live model, once it holds a listing: the first reader after a start waits
        for it (at most `timeout`, default the engine timeout).

        Raises EngineUnavailable when the engine can't be reached or listed in time.
        """
        self.sync.ensure_running()
        wait = settings.DOCKER_TIMEOUT if timeout is None else timeout
        # While down, a page makes it try once more at once and waits for that attempt
        # (a refused connection fails in a moment; a listing of 10,000 takes seconds).
        self.sync.retry_now(wait)
        if not self.sync.ready.wait(wait):
            raise gateway.EngineUnavailable(self.address, "timed out listing the engine")
        if self.sync.status != "up":
            raise gateway.EngineUnavailable(self.address, self.sync.reason or "not answering")
        return self.model

    def refresh(self, kind: str, key: str) -> None:
        """Bring one object in the model up to date with the engine (after an action, so
        the next page shows its result). Quietly does nothing when the model isn't running
        or the engine doesn't answer: the object's event will do it then."""
        if self.sync.status != "up":
            return
        refresh = {
            "container": self.sync.refresh_container,
            "volume": self.sync.refresh_volume,
            "network": self.sync.refresh_network,
            "image": lambda _key: self.sync.refresh_images(),
        }[kind]
        with contextlib.suppress(gateway.GatewayError), self.using():
            refresh(key)


_lock = threading.Lock()
_engines: dict[tuple[str, float], Engine] = {}


def current() -> Engine:
    """The engine this request or socket works with: the settings' DOCKER_HOST."""
    key = (settings.DOCKER_HOST, settings.DOCKER_TIMEOUT)
    with _lock:
        if key not in _engines:
            _engines[key] = Engine(LOCAL, connection_for(*key))
        return _engines[key]


def live_for(request) -> LiveModel:
    """`current().live()`, asked once per request: the view, the sidebar and the banner of
    one page share the answer, so while the engine is down the page waits for one retry,
    not one per ask. Raises EngineUnavailable (the same one on every ask)."""
    answer = getattr(request, "_live_model", None)
    if answer is None:
        try:
            answer = current().live()
        except gateway.EngineUnavailable as exc:
            answer = exc
        request._live_model = answer
    if isinstance(answer, gateway.EngineUnavailable):
        raise answer
    return answer


def all_started() -> list[Engine]:
    with _lock:
        return list(_engines.values())
