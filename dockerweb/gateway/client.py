"""The lazily-built docker-py client, and the translation of its errors.

This package is the only code in the project that imports `docker`.
"""

import contextlib
import errno
import threading
from collections.abc import Iterator

import docker
import docker.errors
import requests.exceptions
from django.conf import settings

from .errors import Conflict, EngineError, EngineUnavailable, GatewayError, InvalidRequest, NotFound

_lock = threading.Lock()
_client: docker.APIClient | None = None
_client_for: tuple | None = None

# Enough pooled connections for the open log/event streams of a busy team plus page calls.
_MAX_POOL_SIZE = 64


def engine_address() -> str:
    return settings.DOCKER_HOST


def api() -> docker.APIClient:
    """The shared low-level client, built on first use (and again if settings change).

    Raises EngineUnavailable when the engine can't be reached to agree an API version;
    a failed attempt is not cached, so the next call tries again.
    """
    global _client, _client_for
    wanted = (settings.DOCKER_HOST, settings.DOCKER_TIMEOUT)
    client = _client
    if client is not None and _client_for == wanted:
        return client
    with _lock:
        if _client is not None and _client_for == wanted:
            return _client
        with translate_errors():
            tls_kwargs = docker.utils.kwargs_from_env()
            tls_kwargs.pop("base_url", None)
            _client = docker.APIClient(
                base_url=settings.DOCKER_HOST,
                version="auto",
                timeout=settings.DOCKER_TIMEOUT,
                max_pool_size=_MAX_POOL_SIZE,
                **tls_kwargs,
            )
            # The engine's API never redirects a valid request; it answers a path holding
            # `..` with a redirect to the cleaned path, which is another endpoint.
            _client.max_redirects = 0
            _client_for = wanted
        return _client


def reset() -> None:
    """Forget the client (tests that repoint DOCKER_HOST; a new engine version)."""
    global _client, _client_for
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
        _client_for = None


def _unavailable_reason(exc: BaseException) -> str | None:
    """Why the engine can't be reached, or None if `exc` is not a reachability problem."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, FileNotFoundError):
            return "no socket at that path (is the engine running?)"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused (is the engine running?)"
        if isinstance(current, PermissionError):
            return "permission denied on the engine socket"
        if isinstance(current, requests.exceptions.Timeout):
            return "timed out waiting for the engine"
        if isinstance(current, OSError) and current.errno in {errno.ECONNRESET, errno.EPIPE}:
            return "connection lost"
        current = current.__cause__ or current.__context__ or _first_arg_exception(current)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed"
    return None


def _first_arg_exception(exc: BaseException) -> BaseException | None:
    # requests/urllib3 wrap the socket error as an argument, not as __cause__.
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, BaseException):
            return arg
        reason = getattr(arg, "reason", None)
        if isinstance(reason, BaseException):
            return reason
    return None


def translate(exc: BaseException) -> GatewayError:
    """Map any docker-py/requests error to the gateway's own family."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, docker.errors.APIError):
        message = str(exc.explanation or exc)
        status = exc.status_code
        if status == 404:
            return NotFound(message)
        if status == 409:
            return Conflict(message)
        if status == 400:
            return InvalidRequest(message)
        return EngineError(message)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return InvalidRequest("The engine redirected the request elsewhere: refused.")
    reason = _unavailable_reason(exc)
    if reason is not None:
        return EngineUnavailable(engine_address(), reason)
    if isinstance(exc, docker.errors.DockerException):
        # docker-py's own wrapper of a failed version probe, e.g. "Error while fetching
        # server API version: ('Connection aborted.', FileNotFoundError(...))".
        text = str(exc)
        if "Error while fetching server API version" in text:
            return EngineUnavailable(engine_address(), text.split(": ", 1)[-1])
        return EngineError(text)
    if isinstance(exc, requests.exceptions.RequestException):
        return EngineUnavailable(engine_address(), str(exc))
    raise exc


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise translate(exc) from exc


def close_response(response) -> None:
    """Close a streaming response from any thread, unblocking its reader at once."""
    with contextlib.suppress(Exception):
        # docker-py knows where each transport keeps its socket; reuse that.
        docker.types.daemon.CancellableStream(iter(()), response).close()
    with contextlib.suppress(Exception):
        response.close()
