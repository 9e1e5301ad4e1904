"""A shell in a running container over a websocket (the Terminal tab, Kitematic's Exec).

Wire format — binary frames are terminal bytes both ways (keystrokes in, output out); text
frames are JSON control messages:
  page → server
    {"open": {"command": "", "user": ""}, "size": [cols, rows]}   once, first: start the exec
    {"resize": [cols, rows]}                                       the terminal's new size
  server → page
    {"type": "state", "state": "connected", "command": str, "user": str}
    {"type": "state", "state": "ended" | "refused" | "stopped" | "too-many-streams",
     "reason": str}
Nothing reaches the container before `open` (a socket opened and left alone starts nothing).

The exec is judged by dockerweb.host_access.check_terminal (the page asks it too), counted
against the user's cap (containers/terminal_sessions.py), marked with a random token in its
environment, and audited when it starts and when it ends (command, duration, bytes each way).
Whatever ends the socket — the page closed, the network gone, the idle timeout, logging out,
the shell exiting — ends the exec's processes (gateway.exec.end_marked: Docker itself would
leave a foreground process running) before the end is recorded.
"""

import asyncio
import contextlib
import json
import logging
import queue
import secrets
import shlex
import time
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model

from audit.records import record
from containers.permissions import OPEN_TERMINAL, VIEW
from containers.terminal_request import BadRequest, parse_open, parse_size
from containers.terminal_sessions import TERMINALS, session_group
from dockerweb import gateway, host_access
from dockerweb.stream_limits import StreamSlot
from dockerweb.threads import ByteRelay, open_in_thread, pump_bytes, start_thread
from dockerweb.ws_auth import CLOSE_FORBIDDEN, user_may

log = logging.getLogger(__name__)

CLOSE_ENDED = 1000
CLOSE_REFUSED = CLOSE_FORBIDDEN
# A flood of output (`cat` of a big file, `yes`) goes out in frames at most every 10 ms,
# gathered meanwhile; an echo or a prompt (a small piece) goes out at once, or typing lags.
FRAME_INTERVAL = 0.01
FLOOD_PIECE = 4096
# How often an open terminal checks that its login still holds (expired, deleted, the user
# deactivated or the permission taken away); logging out is noticed at once (the signal).
LOGIN_CHECK_SECONDS = 30
# Seconds to wait for a stopping container to say so, after its shell was killed by a signal.
STOPPING_GRACE = 5.0


class _Writer:
    """Keystrokes to the exec socket in their own thread, in order: a container that does
    not read its input must block this thread, not the event loop."""

    def __init__(self, terminal: gateway.exec.TerminalSocket):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._terminal = terminal
        start_thread(self._run, name=f"terminal-in-{terminal.exec_id[:12]}")

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self._terminal.send(data)
            except OSError:
                return

    def put(self, data: bytes) -> None:
        self._queue.put(data)

    def stop(self) -> None:
        self._queue.put(None)


def _display(command: tuple[str, ...]) -> str:
    return shlex.join(command)


class TerminalConsumer(StreamSlot, AsyncWebsocketConsumer):
    container = None
    terminal = None  # gateway.exec.TerminalSocket once the exec started
    request = None
    _ending = None  # the task ending the session, once something ended it
    _counted = False  # holds one of the user's terminals (TERMINALS)
    _group = ""
    output_task = idle_task = login_task = None

    async def connect(self):
        user = self.scope.get("user")
        # Only who may open one at all gets a socket; the container is judged on `open`.
        if not await user_may(self.scope, VIEW) or not await _may_open_any(user):
            await self.close()
            return
        if not await self.take_stream_slot():
            return
        self.container_id = self.scope["url_route"]["kwargs"]["container_id"]
        self.bytes_in = self.bytes_out = 0
        session = self.scope.get("session")
        if session is not None and session.session_key:
            self._group = session_group(session.session_key)
            await self.channel_layer.group_add(self._group, self.channel_name)
        await self.accept()

    # -- the page's messages

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            if self.terminal is not None and self._ending is None:
                self.bytes_in += len(bytes_data)
                self.last_activity = time.monotonic()
                self.writer.put(bytes_data)
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if "resize" in message:
            size = parse_size(message["resize"])
            if size is not None and self.terminal is not None and self._ending is None:
                await self._resize(size)
        elif "open" in message and self.request is None:
            await self._open(message)

    async def _resize(self, size: tuple[int, int]) -> None:
        try:
            await asyncio.to_thread(gateway.exec.resize, self.terminal.exec_id, *size)
        except gateway.GatewayError:
            pass  # the exec is ending: its output stream says so

    # -- opening

    async def _open(self, message) -> None:
        try:
            self.request = parse_open(message)
        except BadRequest as exc:
            self.request = False  # one open per socket, even a bad one
            await self._refuse("refused", str(exc))
            return
        user = self.scope["user"]
        try:
            self.container = await asyncio.to_thread(
                gateway.containers.inspect_container, self.container_id
            )
            # Judged first: who may not have one learns nothing more by asking.
            await asyncio.to_thread(host_access.check_terminal, user, self.container)
            if self.container.state != "running":
                await self._refuse(
                    "stopped",
                    f"The container is {self.container.state or 'not running'}: a terminal "
                    "runs inside a running container. Start it, then connect.",
                )
                return
        except gateway.NotFound:
            await self._refuse("refused", "This container no longer exists.")
            return
        except gateway.GatewayError as exc:
            await self._refuse("refused", f"The engine could not answer: {exc}")
            return
        except host_access.Refused as exc:
            await self._audit_refusal(str(exc))
            await self._refuse("refused", str(exc))
            return
        reason = TERMINALS.take(user.pk)
        if reason:
            await self._refuse("refused", reason)
            return
        self._counted = True
        await self._start()

    async def _start(self) -> None:
        request = self.request
        self.token = secrets.token_hex(16)
        try:
            command = request.command or (
                await asyncio.to_thread(gateway.exec.choose_shell, self.container.id, request.user),
            )
            self.command = command
            self.terminal = await open_in_thread(
                gateway.exec.open_terminal,
                self.container.id,
                list(command),
                user=request.user,
                token=self.token,
            )
        except gateway.GatewayError as exc:
            self._release()
            await self._refuse("refused", f"The terminal could not start: {exc}")
            return
        self.started = time.monotonic()
        self.last_activity = self.started
        await self._audit_start()
        self.writer = _Writer(self.terminal)
        self.relay = ByteRelay(limit=256 * 1024)
        pump_bytes(self.terminal.pieces(), self.relay, name=f"terminal-out-{self.token[:8]}")
        if request.size is not None:
            await self._resize(request.size)
        await self.send_json(
            {
                "type": "state",
                "state": "connected",
                "command": _display(command),
                "user": request.user,
            }
        )
        self.output_task = asyncio.create_task(self._relay_output())
        self.idle_task = asyncio.create_task(self._watch_idle())
        self.login_task = asyncio.create_task(self._watch_login())

    # -- while open

    async def _relay_output(self) -> None:
        while True:
            data = await self.relay.take()
            if not data:
                break
            self.bytes_out += len(data)
            self.last_activity = time.monotonic()
            await self.send(bytes_data=data)
            # Output counts against the user's byte budget with their log streams; only a
            # flood waits its turn, so typing never lags behind someone's busy log tab.
            wait = self.stream_budget.charge(len(data))
            if len(data) >= FLOOD_PIECE:
                await asyncio.sleep(max(FRAME_INTERVAL, wait))
        await self.end("The shell ended.", tell=True, exited=True)

    async def _watch_idle(self) -> None:
        idle = settings.TERMINAL_IDLE_SECONDS
        while True:
            left = self.last_activity + idle - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(left)
        await self.end(
            f"Ended after {_duration(idle)} without input or output (the idle timeout).",
            tell=True,
        )

    async def _watch_login(self) -> None:
        while await _login_holds(self.scope):
            await asyncio.sleep(LOGIN_CHECK_SECONDS)
        await self.end("Your login ended.", tell=True)

    async def terminal_logout(self, message):
        """This socket's login ended (its session logged out)."""
        if self.terminal is not None:
            await self.end("You logged out.", tell=True)
        else:
            await self.close(code=CLOSE_ENDED)

    # -- ending

    async def disconnect(self, code):
        if self._group:
            await self.channel_layer.group_discard(self._group, self.channel_name)
        if self.terminal is not None:
            await self.end("The page closed the terminal.", tell=False)
        self._release()

    async def end(self, why: str, *, tell: bool, exited: bool = False) -> None:
        """End the session once, whoever asks first; later callers wait for that end."""
        if self._ending is None:
            self._ending = asyncio.ensure_future(self._finish(why, tell=tell, exited=exited))
        await asyncio.shield(self._ending)

    async def _finish(self, why: str, *, tell: bool, exited: bool) -> None:
        current = asyncio.current_task()
        for task in (self.output_task, self.idle_task, self.login_task):
            if task is not None and task is not current and not task.done():
                task.cancel()
        self.terminal.close()
        self.writer.stop()
        self.relay.close()
        state, confirmed = await self._end_processes()
        if exited:
            why = await self._why_it_exited(state) or why
        await self._audit_end(why, confirmed)
        self._release()
        if tell:
            with contextlib.suppress(Exception):  # the page may already be gone
                await self.send(bytes_data=f"\r\n\x1b[2m[{why}]\x1b[0m\r\n".encode())
                await self.send_json({"type": "state", "state": "ended", "reason": why})
                await self.close(code=CLOSE_ENDED)

    async def _why_it_exited(self, state) -> str:
        # A shell killed by a signal (137, 143) is often the container stopping: its processes
        # die a moment before the engine says it is no longer running. Look again for a while.
        killed = state is not None and (state.exit_code or 0) > 128
        deadline = time.monotonic() + (STOPPING_GRACE if killed else 0)
        while True:
            try:
                container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.container.id
                )
            except gateway.NotFound:
                return "The container was removed."
            except gateway.GatewayError:
                container = None
            if container is None or container.state != "running":
                break
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        if container is not None and container.state != "running":
            return f"The container is {container.state}."
        if state is not None and state.exit_code in (126, 127) and not self.bytes_in:
            # Nothing typed yet: the engine could not run it (no such command, no such user).
            return (
                f"The command could not start (code {state.exit_code}): check the shell and "
                "the user (the engine's reason, when it gives one, is in the terminal)."
            )
        if state is not None and state.exit_code is not None:
            return f"The shell exited (code {state.exit_code})."
        return ""

    async def _end_processes(self):
        """(the exec's state afterwards or None, whether nothing of it runs any more)."""
        try:
            state = await asyncio.to_thread(
                gateway.exec.end_marked, self.container.id, self.terminal.exec_id, self.token
            )
        except (gateway.NotFound, gateway.Conflict):
            return None, True  # the container is gone or stopped: so are its processes
        except gateway.GatewayError as exc:
            log.warning("terminal %s: could not end its processes: %s", self.token[:8], exc)
            return None, False
        return state, not state.running

    def _release(self) -> None:
        if self._counted:
            self._counted = False
            TERMINALS.give_back(self.scope["user"].pk)

    async def _refuse(self, state: str, reason: str) -> None:
        await self.send_json({"type": "state", "state": state, "reason": reason})
        await self.close(code=CLOSE_REFUSED)

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))

    # -- the activity trail

    def _who(self) -> str:
        return f"{_display(self.command)} as {self.request.user or 'the container’s user'}"

    async def _audit_start(self) -> None:
        await _record(
            self.scope["user"],
            "container.terminal_start",
            self.container,
            f"terminal opened: {self._who()} (exec {self.terminal.exec_id[:12]})",
        )

    async def _audit_end(self, why: str, confirmed: bool) -> None:
        seconds = time.monotonic() - self.started
        outcome = "" if confirmed else "; its processes could not be confirmed ended"
        await _record(
            self.scope["user"],
            "container.terminal_end",
            self.container,
            f"terminal closed: {self._who()}; {why} Duration {_duration(seconds)}, "
            f"{self.bytes_in} bytes in, {self.bytes_out} bytes out{outcome}",
            ok=confirmed,
        )

    async def _audit_refusal(self, reason: str) -> None:
        await _record(
            self.scope["user"],
            "container.terminal_start",
            self.container,
            "terminal refused",
            error=reason,
        )


@database_sync_to_async
def _record(user, action, container, detail, **kwargs) -> None:
    record(
        user,
        action,
        target_type="container",
        target_id=container.id,
        target_name=container.name,
        detail=detail,
        **kwargs,
    )


@database_sync_to_async
def _login_holds(scope) -> bool:
    """The socket's session is still a login of its user, who may still open terminals."""
    session, user = scope.get("session"), scope["user"]
    key = getattr(session, "session_key", None)
    if not key:
        return False
    stored = import_module(settings.SESSION_ENGINE).SessionStore(key).load()  # {} once gone
    if stored.get(SESSION_KEY) != str(user.pk):
        return False
    current = get_user_model().objects.filter(pk=user.pk).first()
    return current is not None and _may_open_any_now(current)


def _may_open_any_now(user) -> bool:
    return host_access.is_admin(user) or (user.is_active and user.has_perm(OPEN_TERMINAL))


@database_sync_to_async
def _may_open_any(user) -> bool:
    return _may_open_any_now(user)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
