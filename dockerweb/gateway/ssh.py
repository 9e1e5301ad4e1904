"""Engines reached over SSH: `ssh://user@host[:port]`, with the portal's stored private key
and the host key pinned when an administrator verified the engine.

docker-py's own SSH transport reads ~/.ssh/config, the system's known_hosts and the SSH
agent of whoever runs the portal: none of that is the engine's configuration. Here each
request's connection is a channel of one paramiko transport that authenticates with the
stored key only and accepts only the pinned host key (none pinned yet: the key presented is
recorded, trust on first use, and the administrator sees its fingerprint). The channel runs
`docker system dial-stdio` on the remote host, as the docker CLI does, and carries HTTP.

docker-py's SSH pool and connection classes are subclassed here (their fixes for paramiko
channels kept); replacing the client's adapter is in raw_http.py with the other private uses.
"""

import io
import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass

import docker
import paramiko
from docker.transport.basehttpadapter import BaseHTTPAdapter
from docker.transport.sshconn import SSHConnection, SSHConnectionPool

from dockerweb.engine_specs import SshMaterial

from . import raw_http
from .errors import EngineUnavailable, InvalidRequest

_REMOTE_COMMAND = "docker system dial-stdio"
_BASE_URL = "http+docker://ssh"
# paramiko logs every connection and login at INFO: the portal's log is not its audit trail.
logging.getLogger("paramiko").setLevel(logging.WARNING)


class HostKeyChanged(paramiko.SSHException):
    """The server presented another host key than the one pinned for the engine."""


@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str
    port: int

    @classmethod
    def parse(cls, address: str) -> "SshTarget":
        """Raises InvalidRequest for anything but ssh://user@host[:port]."""
        parsed = urllib.parse.urlsplit(address)
        try:
            port = parsed.port or 22
        except ValueError:
            raise InvalidRequest("The SSH port is not a number from 1 to 65535.") from None
        if parsed.scheme != "ssh" or not parsed.hostname or not parsed.username:
            raise InvalidRequest(
                "An SSH engine's address is ssh://user@host or ssh://user@host:port."
            )
        if parsed.password or parsed.path not in ("", "/") or parsed.query or parsed.fragment:
            raise InvalidRequest("An SSH engine's address is ssh://user@host[:port], nothing more.")
        return cls(parsed.username, parsed.hostname, port)


def host_key_text(key: paramiko.PKey) -> str:
    """A public key as an authorized_keys / known_hosts line has it: "ssh-ed25519 AAAA…"."""
    return f"{key.get_name()} {key.get_base64()}"


def load_private_key(text: str) -> paramiko.PKey:
    """Raises InvalidRequest when the text is no unencrypted Ed25519, ECDSA or RSA key."""
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise InvalidRequest(
                "The SSH key is protected by a passphrase: give one without."
            ) from None
        except (paramiko.SSHException, ValueError, TypeError, IndexError):
            continue
    raise InvalidRequest("Not an SSH private key (Ed25519, ECDSA or RSA, OpenSSH or PEM format).")


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """No known_hosts is loaded, so every server key comes here: the pinned one is accepted,
    any other refused; with none pinned, the presented key is accepted (and kept by the
    transport, where the verification reads it)."""

    def __init__(self, pinned: str):
        self.pinned = pinned.strip()

    def missing_host_key(self, client, hostname, key) -> None:
        presented = host_key_text(key)
        if self.pinned and presented != self.pinned:
            raise HostKeyChanged(
                f"the SSH server presented another host key ({presented.split()[0]}) than the "
                "one pinned for this engine: refused (remove and add the engine again if the "
                "host was really reinstalled)"
            )


class _ChannelConnection(SSHConnection):
    """One HTTP connection = one `docker system dial-stdio` channel on the shared transport."""

    def __init__(self, adapter: "KeyedSshAdapter", timeout: float):
        super().__init__(ssh_transport=None, timeout=timeout, host=None)
        self.adapter = adapter

    def connect(self) -> None:
        # A transport whose server went away may not know it yet: its first channel fails,
        # and one new transport is tried (with the same key and pinned host key). Its
        # EngineUnavailable (key refused, host key changed…) passes through urllib3 as is,
        # so the page says why.
        for renew in (False, True):
            transport = self.adapter.transport(renew=renew)
            try:
                channel = transport.open_session(timeout=self.timeout)
                channel.settimeout(self.timeout)
                channel.exec_command(_REMOTE_COMMAND)
            except paramiko.SSHException as exc:
                if renew:
                    # An OSError: urllib3 and requests make it the usual ConnectionError.
                    raise ConnectionAbortedError(f"SSH: {exc}") from exc
                continue
            self.sock = channel
            return


class _ChannelPool(SSHConnectionPool):
    def __init__(self, adapter: "KeyedSshAdapter", timeout: float, maxsize: int):
        super().__init__(ssh_client=None, timeout=timeout, maxsize=maxsize, host=None)
        self.adapter = adapter

    def _new_conn(self):
        return _ChannelConnection(self.adapter, self.timeout)


class KeyedSshAdapter(BaseHTTPAdapter):
    """requests' adapter for one SSH engine: one authenticated transport (made again when
    it dropped), HTTP over its channels."""

    def __init__(self, address: str, material: SshMaterial, timeout: float, max_pool_size: int):
        super().__init__()
        self.target = SshTarget.parse(address)
        self.timeout = timeout
        self._key = load_private_key(material.key)
        self._policy = _PinnedHostKey(material.host_key)
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._pool_size = max_pool_size
        self._pool = _ChannelPool(self, timeout, max_pool_size)
        self.transport()  # connect now: a wrong key or host key shows when the client is built

    def transport(self, renew: bool = False) -> paramiko.Transport:
        """The live transport, connected (again) if needed or if `renew`.
        Raises EngineUnavailable."""
        with self._lock:
            transport = self._client.get_transport() if self._client is not None else None
            if renew or transport is None or not transport.is_active():
                transport = self._connect()
            return transport

    def _connect(self) -> paramiko.Transport:
        if self._client is not None:
            self._client.close()
            self._client = None
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(self._policy)
        address = f"ssh://{self.target.user}@{self.target.host}:{self.target.port}"
        try:
            client.connect(
                self.target.host,
                port=self.target.port,
                username=self.target.user,
                pkey=self._key,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                channel_timeout=self.timeout,
                # The stored key and nothing else: not the portal user's ~/.ssh, not an agent.
                allow_agent=False,
                look_for_keys=False,
            )
        except BaseException as exc:
            client.close()
            raise EngineUnavailable(address, _reason(exc)) from exc
        self._client = client
        return client.get_transport()

    def host_key(self) -> str:
        """The host key the server presented on this adapter's transport."""
        return host_key_text(self.transport().get_remote_server_key())

    def get_connection(self, url, proxies=None):
        with self._lock:
            transport = self._client.get_transport() if self._client is not None else None
            if transport is None or not transport.is_active():
                # The server went away: the pooled channels are dead. A new pool's first
                # connection makes a new transport (or says why it can't).
                self._pool.close()
                self._pool = _ChannelPool(self, self.timeout, self._pool_size)
            return self._pool

    def close(self) -> None:
        super().close()
        self._pool.close()
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, HostKeyChanged):
        return str(exc)
    if isinstance(exc, paramiko.AuthenticationException):
        return "the SSH server did not accept the key"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "connection refused (is the SSH server running?)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out connecting over SSH"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, paramiko.SSHException | OSError | EOFError):
        return f"SSH failed: {exc}"
    raise exc


def ssh_client(address: str, material: SshMaterial, timeout: float, pool: int) -> docker.APIClient:
    """A docker-py client whose requests go over SSH with `material` (see the module).

    Raises EngineUnavailable (no connection, key refused, host key changed, no answer),
    InvalidRequest (the address or key can't be used).
    """
    adapter = KeyedSshAdapter(address, material, timeout, pool)
    try:
        # use_ssh_client: docker-py's own adapter then only remembers the address (it would
        # otherwise connect with ~/.ssh and known_hosts); it is replaced by ours at once.
        client = docker.APIClient(
            base_url=address,
            version=docker.constants.DEFAULT_DOCKER_API_VERSION,
            timeout=timeout,
            use_ssh_client=True,
        )
        raw_http.replace_adapter(client, _BASE_URL, adapter)
        client.trust_env = False
        raw_http.negotiate_version(client)
    except BaseException:
        adapter.close()
        raise
    return client


def presented_host_key(client: docker.APIClient) -> str:
    """The host key the SSH engine behind `client` presented ("ssh-ed25519 AAAA…")."""
    adapter = client.get_adapter(_BASE_URL)
    if not isinstance(adapter, KeyedSshAdapter):
        return ""
    return adapter.host_key()
