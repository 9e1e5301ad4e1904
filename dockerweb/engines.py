"""Engines as objects: where one is (its connection), what the portal knows of it (its live
model) and how that knowledge is kept true (its sync thread).

The portal knows several engines, each by a name (a slug, as in `/engines/<name>/…`):
- declared in the environment: `DOCKERWEB_ENGINES=local=unix:///…,edge=tcp://…:2376`, with
  TLS material for engine NAME in `DOCKERWEB_ENGINE_<NAME>_TLS_DIR` (ca.pem, cert.pem,
  key.pem); without DOCKERWEB_ENGINES, one engine named "local" at DOCKER_HOST;
- stored by an administrator on the Engines page (`engines.models.EngineConfig`, keys
  encrypted), read again at most every STORED_TTL seconds so every portal process sees an
  added, changed or removed engine.

The engine a request or socket works with is chosen by its URL (dockerweb/engine_scope.py)
and made `current()` for that request, socket or thread: gateway calls made there go to it,
and permissions are judged on it (dockerweb/engine_permissions.py).
"""

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator

from django.conf import settings

from dockerweb import gateway
from dockerweb.engine_specs import LOCAL, NAME_PATTERN, EngineSpec, valid_name
from dockerweb.gateway.client import Connection, connection_for
from dockerweb.live_model import LiveModel
from dockerweb.live_model.sync import ModelSync

# Seconds a process trusts its copy of the stored engines before reading the table again.
STORED_TTL = 2.0

__all__ = ["LOCAL", "EngineSpec", "NAME_PATTERN", "valid_name"]


class UnknownEngine(LookupError):
    """No engine of that name (never declared, or removed)."""


class Engine:
    def __init__(self, spec: EngineSpec):
        self.spec = spec
        self.name = spec.name
        self.connection = connection_for(spec.address, spec.timeout, spec.tls, spec.ssh)
        # The live model's own connection: its endless events stream and its calls don't
        # take connections from the pool pages use (nor get closed with it by `reset`).
        self.model_connection = Connection(spec.address, spec.timeout, spec.tls, spec.ssh)
        self.model = LiveModel()
        self.sync = ModelSync(self)

    def __repr__(self) -> str:
        return f"<Engine {self.name} {self.address}>"

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

    def retire(self) -> None:
        """This engine was removed or reconfigured: stop watching it, drop its connections."""
        self.sync.stop()
        self.connection.close()
        self.model_connection.close()


# --- which engines exist ------------------------------------------------------------------


def declared_specs() -> dict[str, EngineSpec]:
    """The engines the environment declares, in the order given (the first is the default).

    Read from settings on every call, so tests that override DOCKER_HOST get another engine.
    """
    timeout = settings.DOCKER_TIMEOUT
    declared = settings.DOCKERWEB_ENGINES
    if not declared:
        return {LOCAL: EngineSpec(LOCAL, settings.DOCKER_HOST, timeout)}
    return {
        entry.name: EngineSpec(entry.name, entry.address, timeout, entry.tls) for entry in declared
    }


_stored_lock = threading.Lock()
_stored: tuple[float, dict[str, EngineSpec]] | None = None


def stored_specs() -> dict[str, EngineSpec]:
    """The engines added on the Engines page (decrypted), cached STORED_TTL seconds. Engines
    removed or changed since the last read are retired (their model stops watching)."""
    global _stored
    now = time.monotonic()
    with _stored_lock:
        if _stored is not None and now - _stored[0] < STORED_TTL:
            return _stored[1]
    from engines.stored import load_stored_specs  # the app's model; loaded lazily

    specs = load_stored_specs(settings.DOCKER_TIMEOUT)
    with _stored_lock:
        _stored = (time.monotonic(), specs)
    _retire_stale(set(specs.values()))
    return specs


def forget_stored() -> None:
    """Read the stored engines again on the next ask (this process changed them)."""
    global _stored
    with _stored_lock:
        _stored = None


def specs() -> dict[str, EngineSpec]:
    """Every engine by name: declared ones first; a stored one never shadows a declared one."""
    every = dict(declared_specs())
    for name, spec in stored_specs().items():
        every.setdefault(name, spec)
    return every


def names() -> list[str]:
    return list(specs())


def default_name() -> str:
    return next(iter(declared_specs()))


# --- the Engine objects of this process ----------------------------------------------------

_lock = threading.Lock()
# By spec, not by name: a test that points DOCKER_HOST elsewhere and back finds the first
# engine's model still warm; a stored engine an administrator changed or removed is retired.
_engines: dict[EngineSpec, Engine] = {}


def get(name: str) -> Engine:
    """The Engine called `name`, built on first use and again when its spec changed.

    A declared engine is found without the database (the default one is asked for from
    async code that has no engine in its path: tests, the main loop). Raises UnknownEngine.
    """
    spec = declared_specs().get(name) or stored_specs().get(name)
    if spec is None:
        raise UnknownEngine(name)
    with _lock:
        engine = _engines.get(spec)
        if engine is None:
            engine = _engines[spec] = Engine(spec)
    return engine


def _retire_stale(stored: set[EngineSpec]) -> None:
    with _lock:
        stale = [spec for spec in _engines if not spec.declared and spec not in stored]
        retired = [_engines.pop(spec) for spec in stale]
    for old in retired:
        threading.Thread(target=old.retire, name=f"retire-{old.name}", daemon=True).start()


def all_started() -> list[Engine]:
    with _lock:
        return list(_engines.values())


# --- the engine in use here ---------------------------------------------------------------

_active: contextvars.ContextVar[Engine | None] = contextvars.ContextVar(
    "dockerweb_engine", default=None
)


def current() -> Engine:
    """The engine this request, socket or thread works with (its URL's), else the default."""
    engine = _active.get()
    return engine if engine is not None else get(default_name())


def current_name() -> str:
    engine = _active.get()
    return engine.name if engine is not None else default_name()


@contextlib.contextmanager
def activate(engine: Engine) -> Iterator[Engine]:
    """Make `engine` current in this block: gateway calls go to it, permissions are its."""
    token = _active.set(engine)
    try:
        with engine.using():
            yield engine
    finally:
        _active.reset(token)


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
