"""A shell in a running container: `docker exec -it` over a hijacked socket, and its end.

- `choose_shell(id, user)`: bash when the container has it, else sh (one short non-tty exec).
- `open_terminal(...)`: exec create (Tty, stdin, Cmd, User, Env; never privileged) and start
  on the hijacked connection: a `TerminalSocket` carrying bytes both ways, closable from any
  thread.
- `resize(exec_id, cols, rows)`, `inspect(exec_id)` → ExecState (running, exit code, pid).
- `end_marked(...)`: Docker has no "kill exec" API, and closing the attach stream does not
  end a foreground process (moby issue #9098). Every terminal's processes carry an
  environment marker (`MARKER=<random token>`, inherited by whatever the shell starts); a
  second, short exec finds the processes holding it in /proc/*/environ and signals them,
  HUP first, KILL after a grace period. The finder is shell builtins only (`read`, `case`,
  `kill`): it works in any container that has `sh`.
"""

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .client import api, translate_errors
from .errors import GatewayError

MARKER = "DOCKERWEB_TERMINAL"
_READ_SIZE = 64 * 1024
_TOKEN = re.compile(r"[0-9a-f]{16,64}")
# $0 = the token, $1 = the signal. Skips itself ($$); a process whose environ can't be read
# (gone, or another user's when not root) is left out. Prints the pids it signalled.
_SIGNAL_MARKED = (
    'for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = "$$" ] && continue; e=; '
    'IFS= read -r e < "$d/environ" 2>/dev/null; '
    f'case "$e" in *"{MARKER}=$0"*) kill -"$1" "$p" 2>/dev/null && echo "$p";; esac; done'
)


@dataclass(frozen=True)
class ExecState:
    running: bool
    exit_code: int | None
    pid: int


class TerminalSocket:
    """The hijacked connection of a started tty exec. Read `pieces()` in one thread, `send()`
    from another, `close()` from any: it unblocks the reader at once."""

    def __init__(self, exec_id: str, sock: socket.socket, keep_alive):
        self.exec_id = exec_id
        self._sock = sock
        self._keep_alive = keep_alive  # the HTTP response: collected, it would close TLS sockets
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def send(self, data: bytes) -> None:
        """Blocking (the container may not be reading); raises OSError once closed."""
        self._sock.sendall(data)

    def pieces(self) -> Iterator[bytes]:
        """The terminal's output as it arrives, until the exec ends or close()."""
        try:
            while not self._closed.is_set():
                piece = self._sock.recv(_READ_SIZE)
                if not piece:
                    return
                yield piece
        except (OSError, ValueError):
            return  # shut by close(), or the engine went away
        finally:
            self.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(Exception):
            self._keep_alive.close()


def _plain_socket(hijacked) -> socket.socket:
    # docker-py hands back a SocketIO over unix/tcp and the TLS socket itself over https.
    return hijacked._sock if isinstance(hijacked, socket.SocketIO) else hijacked


def choose_shell(container_id: str, user: str = "") -> str:
    """ "bash" when the container has it on its PATH, else "sh" (whose absence the terminal
    exec will then report). Raises NotFound, EngineUnavailable, EngineError."""
    with translate_errors():
        client = api()
        exec_id = client.exec_create(
            container_id, ["sh", "-c", "command -v bash"], user=user, privileged=False
        )["Id"]
        found = client.exec_start(exec_id).strip()
    # A path when found; an engine error (no sh, no such user) is text of another kind.
    return "bash" if found.startswith(b"/") and found.endswith(b"/bash") else "sh"


def open_terminal(
    container_id: str,
    command: list[str],
    *,
    user: str,
    token: str,
    env: dict[str, str] | None = None,
) -> TerminalSocket:
    """Create and start a tty exec of `command`, its processes marked with `token`.

    Raises NotFound, Conflict (the container is not running), EngineUnavailable, EngineError.
    """
    if not _TOKEN.fullmatch(token):
        raise ValueError("the marker token must be 16-64 hex digits")
    with translate_errors():
        client = api()
        exec_id = client.exec_create(
            container_id,
            command,
            stdin=True,
            tty=True,
            user=user,
            privileged=False,  # never: a privileged exec is root on the host
            environment={**(env or {}), MARKER: token},
        )["Id"]
        hijacked = client.exec_start(exec_id, tty=True, socket=True)
    sock = _plain_socket(hijacked)
    sock.settimeout(None)  # a quiet shell is not a dead engine: no read timeout
    return TerminalSocket(exec_id, sock, hijacked)


def resize(exec_id: str, cols: int, rows: int) -> None:
    """Raises NotFound, EngineUnavailable, EngineError (e.g. the exec has ended)."""
    with translate_errors():
        api().exec_resize(exec_id, height=rows, width=cols)


def inspect(exec_id: str) -> ExecState:
    """Raises NotFound, EngineUnavailable, EngineError."""
    with translate_errors():
        doc = api().exec_inspect(exec_id)
    return ExecState(
        running=bool(doc.get("Running")),
        exit_code=None if doc.get("Running") else doc.get("ExitCode"),
        pid=doc.get("Pid") or 0,
    )


def signal_marked(container_id: str, token: str, signal: str) -> int:
    """Send `signal` (HUP, KILL…) to every process in the container carrying `token`;
    returns how many. Run as root in the container (not privileged): whatever user the
    terminal ran as, its processes can be ended. Raises NotFound, Conflict, EngineUnavailable,
    EngineError."""
    if not _TOKEN.fullmatch(token) or not signal.isalnum():
        raise ValueError("bad token or signal")
    with translate_errors():
        client = api()
        exec_id = client.exec_create(
            container_id, ["sh", "-c", _SIGNAL_MARKED, token, signal], user="0", privileged=False
        )["Id"]
        output = client.exec_start(exec_id)
    return len(output.split())


def end_marked(container_id: str, exec_id: str, token: str, *, grace: float = 2.0) -> ExecState:
    """End a terminal's processes: nothing if the exec already ended by itself; else HUP to
    every marked process, up to `grace` seconds for them to go, then KILL to whatever still
    carries the marker. Returns the exec's state afterwards.

    Raises NotFound, EngineUnavailable, EngineError (the container gone or stopped ends the
    processes anyway: callers may treat NotFound and a stopped container as ended).
    """
    state = inspect(exec_id)
    if not state.running:
        # The shell is gone; what it started in the background may still carry the marker.
        with contextlib.suppress(GatewayError):
            signal_marked(container_id, token, "KILL")
        return state
    signal_marked(container_id, token, "HUP")
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        state = inspect(exec_id)
        if not state.running:
            break
        time.sleep(0.05)
    signal_marked(container_id, token, "KILL")  # stragglers, and a shell that ignored HUP
    deadline = time.monotonic() + grace
    state = inspect(exec_id)
    while state.running and time.monotonic() < deadline:
        time.sleep(0.05)
        state = inspect(exec_id)
    return state
