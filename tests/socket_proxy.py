"""A unix-socket forwarder to the real engine that a test can cut and restore.

Pointing the portal's DOCKER_HOST at the forwarder lets a test take "the engine" away for
real (the socket path disappears, open connections drop) without stopping the shared dockerd.
"""

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

ENGINE_SOCKET = "/var/run/docker.sock"
_CHUNK = 64 * 1024


class _Pair:
    """One forwarded connection: the portal's side and the engine's side."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self._open_pipes = 2
        self._lock = threading.Lock()

    def cut(self) -> None:
        # shutdown (not close) wakes the pipe threads blocked in recv(); they close.
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def pipe_done(self) -> bool:
        """Called by each pipe as it ends; the last one closes both sockets (True)."""
        with self._lock:
            self._open_pipes -= 1
            last = self._open_pipes == 0
        if last:
            self.client.close()
            self.upstream.close()
        return last


class SocketProxy:
    """Listens on `path`, forwarding each connection to `target` in both directions.

    `stop()` closes the listener, removes the path and cuts every forwarded connection
    (the engine is gone: new connections fail, open streams end); `start()` serves
    again at the same path.
    """

    def __init__(
        self,
        path: Path | str,
        target: str = ENGINE_SOCKET,
        holds: Callable[[bytes], bool] | None = None,
    ):
        self.path = str(path)
        self.target = target
        # A request whose first line `holds` accepts is never forwarded, so never answered:
        # an engine too slow for that call, and only that one.
        self.holds = holds
        self.held = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._pairs: set[_Pair] = set()
        self._pipes: list[threading.Thread] = []

    @property
    def address(self) -> str:
        return f"unix://{self.path}"

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the proxy is already running")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(128)
        self._listener = listener
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener,), name="socket-proxy", daemon=True
        )
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and drop every open one; returns once all are closed."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = list(self._pairs), set()
            pipes, self._pipes = self._pipes, []
        if listener is None:
            return
        with contextlib.suppress(OSError):
            # On Linux this wakes the thread blocked in accept().
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._acceptor.join(timeout=5)
        for pair in pairs:
            pair.cut()
        for pipe in pipes:
            pipe.join(timeout=5)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stop() shut the listener
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            pair = _Pair(client, upstream)
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    pair.cut()
                    client.close()
                    upstream.close()
                    return
                self._pairs.add(pair)
                self._pipes = [pipe for pipe in self._pipes if pipe.is_alive()]
                for source, sink in ((client, upstream), (upstream, client)):
                    pipe = threading.Thread(
                        target=self._pipe,
                        args=(pair, source, sink),
                        name="socket-proxy-pipe",
                        daemon=True,
                    )
                    self._pipes.append(pipe)
                    pipe.start()

    def _pipe(self, pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        holding = self.holds is not None and source is pair.client
        try:
            while data := source.recv(_CHUNK):
                if holding and self.holds(data.split(b"\r\n", 1)[0]):
                    with self._lock:
                        self.held += 1
                    while source.recv(_CHUNK):  # until the portal gives up and hangs up
                        pass
                    break
                sink.sendall(data)
            # A clean end of one direction is passed on as is (HTTP keep-alive closes).
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
        except OSError:
            pair.cut()  # a broken side breaks the whole connection
        finally:
            if pair.pipe_done():
                with self._lock:
                    self._pairs.discard(pair)
