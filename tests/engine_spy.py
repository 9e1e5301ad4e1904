"""Watching what the portal asks the engine: every HTTP request of the gateway's own client.

A spy, not a fake: each request still goes to the real engine, and its method, path, status
and (for creations) the engine's answer are written down. Tests use it to prove that bad input
is refused before any engine call, and to attribute engine objects to the request that made
them on an engine other test runs share.
"""

import contextlib
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import docker

from dockerweb.gateway import client as gateway_client

# Answers worth keeping: they name what was created.
_CREATIONS = ("/containers/create", "/volumes/create", "/networks/create")


@dataclass(frozen=True)
class EngineRequest:
    method: str
    path: str  # as sent, without the /vX.Y prefix, percent-decoded
    raw_path: str  # as sent, without the /vX.Y prefix
    status: int
    thread: str
    answer: dict | None = None  # the JSON answer of a creation

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def changes_state(self) -> bool:
        return self.method in ("POST", "PUT", "DELETE", "PATCH")


@dataclass
class EngineSpy:
    requests: list[EngineRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int, *, thread: str | None = None) -> list[EngineRequest]:
        with self.lock:
            found = self.requests[mark:]
        return [r for r in found if thread is None or r.thread == thread]

    def created(self, mark: int, *, thread: str | None = None) -> dict[str, set[str]]:
        """Objects created and not removed again since `mark`: {"container": {id…}, …}.

        A volume-file helper container made and removed within the request counts as
        nothing, as does a run the gateway undid after a failed start.
        """
        made: dict[str, set[str]] = {"container": set(), "volume": set(), "network": set()}
        for request in self.since(mark, thread=thread):
            if not request.ok:
                continue
            if request.method == "POST" and request.path in _CREATIONS and request.answer:
                kind = request.path.split("/")[1][:-1]
                made[kind].add(request.answer.get("Id") or request.answer.get("Name") or "")
            elif request.method == "DELETE":
                kind, _, name = request.path.strip("/").partition("/")
                kind = kind[:-1]
                if kind in made:
                    made[kind] = {
                        known
                        for known in made[kind]
                        if not (known == name or known.startswith(name))
                    }
        return {kind: ids for kind, ids in made.items() if ids}


def _api_path(url: str) -> str:
    path = urlsplit(url).path
    parts = path.split("/", 2)
    # /v1.41/containers/json → /containers/json
    if len(parts) == 3 and parts[1].startswith("v") and parts[1][1:2].isdigit():
        return "/" + parts[2]
    return path


def _is_gateway_client(client) -> bool:
    """One of the gateway's clients (one per engine connection), not a test's own."""
    with gateway_client._connections_lock:
        connections = list(gateway_client._connections.values())
    return any(client is connection._client for connection in connections)


@contextlib.contextmanager
def spying_on_the_engine():
    """Record every request the gateway's docker client sends while the block runs."""
    spy = EngineSpy()
    original = docker.APIClient.send

    def send(self, prepared, **kwargs):
        response = original(self, prepared, **kwargs)
        if _is_gateway_client(self):
            raw = _api_path(prepared.url)
            answer = None
            if prepared.method == "POST" and raw in _CREATIONS and not kwargs.get("stream"):
                with contextlib.suppress(ValueError):
                    answer = response.json()
            request = EngineRequest(
                method=prepared.method,
                path=unquote(raw),
                raw_path=raw,
                status=response.status_code,
                thread=threading.current_thread().name,
                answer=answer if isinstance(answer, dict) else None,
            )
            with spy.lock:
                spy.requests.append(request)
        return response

    docker.APIClient.send = send
    try:
        yield spy
    finally:
        docker.APIClient.send = original
