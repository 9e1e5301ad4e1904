"""A real local registry (Debian's docker-registry) for pull and push tests and the benchmark.

It listens on 127.0.0.1:<free port>, which the engine treats as an insecure registry, so
push and pull work without TLS. Storage is a temporary directory; with `users` it asks for
a login (htpasswd, bcrypt entries). `SlowProxy` stands in front of one, to make a pull
slow (a rate per connection) or hold it (paused) for as long as a test needs.
"""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import requests

from tests.engine import free_port, wait_for

REGISTRY_BINARY = "/usr/bin/docker-registry"


@dataclass
class LocalRegistry:
    address: str  # "127.0.0.1:port", as it appears in image names
    root: Path
    process: subprocess.Popen
    auth: tuple[str, str] | None = None  # a valid login, for checking through the v2 API

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def tags(self, repository: str) -> list[str]:
        """The tags the registry's v2 API lists for `repository` ([] when it has none)."""
        response = requests.get(f"{self.url}/v2/{repository}/tags/list", auth=self.auth, timeout=5)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json().get("tags") or []

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_registry(users: dict[str, str] | None = None) -> LocalRegistry:
    """Start a registry on a free port; with `users` ({name: password}) it needs a login."""
    if not Path(REGISTRY_BINARY).exists():
        raise RuntimeError("docker-registry is needed (apt-get install docker-registry)")
    root = Path(tempfile.mkdtemp(prefix="dockerweb-registry-"))
    address = f"127.0.0.1:{free_port()}"
    auth_section = ""
    if users:
        lines = [
            f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}"
            for name, password in users.items()
        ]
        (root / "htpasswd").write_text("\n".join(lines) + "\n")
        auth_section = (
            f"auth:\n  htpasswd:\n    realm: dockerweb-test\n    path: {root / 'htpasswd'}\n"
        )
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: {address}\n"
        f"{auth_section}"
    )
    log = open(root / "registry.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(root / "config.yml")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    registry = LocalRegistry(
        address=address,
        root=root,
        process=process,
        auth=next(iter(users.items())) if users else None,
    )

    def answering():
        if process.poll() is not None:
            raise AssertionError(
                f"docker-registry exited: {(root / 'registry.log').read_text()[-2000:]}"
            )
        try:
            # 200 when open, 401 when it asks for a login: either way it is serving.
            return requests.get(f"{registry.url}/v2/", timeout=1).status_code in (200, 401)
        except requests.RequestException:
            return False

    try:
        wait_for(answering, timeout=20, message="docker-registry to answer /v2/")
    except BaseException:
        registry.stop()
        raise
    return registry


class SlowProxy:
    """A TCP forwarder to a registry that can throttle and pause what comes back.

    Images named `proxy.address/...` are pulled through it from the same registry storage.
    `rate` caps bytes per second per connection (registry → engine); `pause()` holds every
    byte until `resume()`.
    """

    CHUNK = 16 * 1024

    def __init__(self, target: str, *, rate: int | None = None):
        self.target = target
        self.rate = rate
        self._flowing = threading.Event()
        self._flowing.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, name="slow-proxy", daemon=True).start()

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def stop(self) -> None:
        self._flowing.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        host, port = self.target.rsplit(":", 1)
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection((host, int(port)), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink, slow in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pipe,
                    args=(source, sink, slow),
                    name="slow-proxy-pipe",
                    daemon=True,
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, slow: bool) -> None:
        try:
            while data := source.recv(self.CHUNK):
                if slow:
                    self._flowing.wait()
                    if self.rate:
                        time.sleep(len(data) / self.rate)
                sink.sendall(data)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
        except OSError:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
