"""The lazily-built docker-py client, and the translation of its errors.

This package is the only code in the project that imports `docker`.
"""

import contextlib
import contextvars
import errno
import hashlib
import ssl
import threading
from collections.abc import Iterator

import docker
import docker.errors
import requests.exceptions
from django.conf import settings

from dockerweb.engine_specs import SshMaterial, TlsMaterial

from .errors import Conflict, EngineError, EngineUnavailable, GatewayError, InvalidRequest, NotFound
from .raw_http import negotiate_version

# Enough pooled connections for the open log/event streams of a busy team plus page calls.
_MAX_POOL_SIZE = 64


class Connection:
    """How to reach one engine: its address, timeout and TLS or SSH material, and the
    docker-py client built from them on first use.

    The engine objects (dockerweb/engines.py) each hold one; gateway calls go to the
    connection in use in the calling context (`using`), by default the settings' engine.
    """

    def __init__(
        self,
        address: str,
        timeout: float,
        tls: TlsMaterial | None = None,
        ssh: SshMaterial | None = None,
    ):
        self.address = address
        self.timeout = timeout
        self.tls = tls
        self.ssh = ssh
        self._lock = threading.Lock()
        self._client: docker.APIClient | None = None

    def api(self) -> docker.APIClient:
        """The low-level client, built on first use.

        Raises EngineUnavailable when the engine can't be reached to agree an API version;
        a failed attempt is not cached, so the next call tries again.
        """
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is not None:
                return self._client
            with translate_errors(self.address):
                client = self._build_client()
                # The engine's API never redirects a valid request; it answers a path holding
                # `..` with a redirect to the cleaned path, which is another endpoint.
                client.max_redirects = 0
                self._client = client
            return client

    def _build_client(self) -> docker.APIClient:
        if self.ssh is not None:
            from .ssh import ssh_client  # paramiko is loaded only for SSH engines

            return ssh_client(self.address, self.ssh, self.timeout, _MAX_POOL_SIZE)
        tls_kwargs = {"tls": _tls_config(self.tls)} if self.tls is not None else _tls_from_env()
        # The API version is agreed only once the client is configured: docker-py's "auto"
        # would ask before `trust_env` is off, trusting REQUESTS_CA_BUNDLE instead of the CA.
        client = docker.APIClient(
            base_url=self.address,
            version=docker.constants.DEFAULT_DOCKER_API_VERSION,
            timeout=self.timeout,
            max_pool_size=_MAX_POOL_SIZE,
            **tls_kwargs,
        )
        # requests would let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the engine's own CA
        # (and HTTP(S)_PROXY carry its traffic): an engine connection trusts only what its
        # configuration says.
        client.trust_env = False
        try:
            negotiate_version(client)
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = None

    def drop_idle(self) -> None:
        """Close the pooled keep-alive connections no call is using; streams in progress
        (the events stream, followed logs) keep theirs, and the client stays usable."""
        with self._lock:
            if self._client is not None:
                self._client.close()  # requests closes only the pools' idle connections


def _tls_config(material: TlsMaterial) -> "docker.tls.TLSConfig":
    """docker-py wants files: the material is written once per content into the private
    data directory (0700/0600), named by its hash, so equal material shares its files."""
    from dockerweb.private_files import create_private_file, private_dir

    digest = hashlib.sha256(f"{material.ca}\0{material.cert}\0{material.key}".encode()).hexdigest()
    folder = settings.DATA_DIR / "engine-tls" / digest[:32]
    private_dir(folder.parent)
    private_dir(folder)
    paths = {}
    for part in ("ca", "cert", "key"):
        path = folder / f"{part}.pem"
        create_private_file(path, getattr(material, part).encode())
        paths[part] = str(path)
    return docker.tls.TLSConfig(
        client_cert=(paths["cert"], paths["key"]), ca_cert=paths["ca"], verify=True
    )


def _tls_from_env() -> dict:
    # DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, as the docker CLI reads them.
    tls_kwargs = docker.utils.kwargs_from_env()
    tls_kwargs.pop("base_url", None)
    return tls_kwargs


_connections_lock = threading.Lock()
_connections: dict[tuple, Connection] = {}
_current: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "dockerweb_engine_connection", default=None
)


def connection_for(
    address: str,
    timeout: float,
    tls: TlsMaterial | None = None,
    ssh: SshMaterial | None = None,
) -> Connection:
    """The one connection pages use per engine (address, timeout, keys) in this process."""
    key = (address, timeout, tls, ssh)
    with _connections_lock:
        if key not in _connections:
            _connections[key] = Connection(address, timeout, tls, ssh)
        return _connections[key]


def default_connection() -> Connection:
    """The engine the settings name (DOCKER_HOST), read again on every call so tests that
    repoint it get another connection."""
    return connection_for(settings.DOCKER_HOST, settings.DOCKER_TIMEOUT)


def current_connection() -> Connection:
    return _current.get() or default_connection()


@contextlib.contextmanager
def using(connection: Connection) -> Iterator[None]:
    """Send the gateway calls made in this block (this thread or task) to `connection`."""
    token = _current.set(connection)
    try:
        yield
    finally:
        _current.reset(token)


def engine_address() -> str:
    return current_connection().address


def api() -> docker.APIClient:
    """The client of the engine in use here. Raises EngineUnavailable (see Connection.api)."""
    return current_connection().api()


def reset() -> None:
    """Forget every client (tests that repoint DOCKER_HOST; a new engine version)."""
    with _connections_lock:
        connections = list(_connections.values())
    for connection in connections:
        connection.close()


def _unavailable_reason(exc: BaseException) -> str | None:
    """Why the engine can't be reached, or None if `exc` is not a reachability problem."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted: {current.verify_message}"
        if isinstance(current, ssl.SSLError):
            return f"TLS failed: {current.reason or current}"
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


def translate(exc: BaseException, address: str | None = None) -> GatewayError:
    """Map any docker-py/requests error to the gateway's own family (`address`: the engine
    it came from, by default the one in use here)."""
    address = address or engine_address()
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
        return EngineUnavailable(address, reason)
    if isinstance(exc, docker.errors.DockerException):
        # docker-py's own wrapper of a failed version probe, e.g. "Error while fetching
        # server API version: ('Connection aborted.', FileNotFoundError(...))".
        text = str(exc)
        if "Error while fetching server API version" in text:
            return EngineUnavailable(address, text.split(": ", 1)[-1])
        return EngineError(text)
    if isinstance(exc, requests.exceptions.RequestException):
        return EngineUnavailable(address, str(exc))
    raise exc


@contextlib.contextmanager
def translate_errors(address: str | None = None) -> Iterator[None]:
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise translate(exc, address) from exc


def close_response(response) -> None:
    """Close a streaming response from any thread, unblocking its reader at once."""
    with contextlib.suppress(Exception):
        # docker-py knows where each transport keeps its socket; reuse that.
        docker.types.daemon.CancellableStream(iter(()), response).close()
    with contextlib.suppress(Exception):
        response.close()
