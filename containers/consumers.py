"""Live logs of one container over a websocket.

Wire format — binary frames carry the engine's log bytes as they come (with Docker's
8-byte stream headers when the container has no TTY; the browser splits them), text frames
carry JSON control messages:
  {"type": "stream", "multiplexed": bool, "timestamps": bool, "tail": int, "capped": bool}
      before each (re)opened stream; `capped`: more lines were asked for than a tab keeps
  {"type": "state", "state": "stopped" | "removed" | "engine-down" | "too-many-streams",
   "reason": str}
Forwarding bytes untouched keeps the server's cost per line near zero, so a container
printing thousands of lines a second can't make this socket fall behind the engine. What a
user's log sockets send together is bounded by their byte budget (dockerweb/stream_limits.py):
past it a socket waits, and its engine stream with it, so one user can't slow everyone.
"""

import asyncio
import json
import re
import time
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from dockerweb import engines, gateway
from dockerweb.groups import container_group, engine_events_group
from dockerweb.live_model.publisher import publisher_for
from dockerweb.stream_limits import StreamSlot
from dockerweb.threads import ByteRelay, open_in_thread, pump_bytes
from dockerweb.ws_auth import user_may

# At most ~40 frames a second: bytes that arrive meanwhile go out together in the next one.
FRAME_INTERVAL = 0.025
# Bytes read ahead of the socket: a few frames' worth. A stream held back (slow client, or
# its user's byte budget spent) then holds back its engine stream and reader thread at once.
RELAY_LIMIT = 256 * 1024
_DIGITS = re.compile(r"[0-9]{1,9}")
_MANY_DIGITS = re.compile(r"[0-9]{10,}")  # more than any bound; int() refuses 4,300 digits


def parse_tail(value: str | None) -> tuple[int, bool]:
    """`tail` query value → (lines to ask the engine for, whether more were asked for).

    A tab keeps at most LOG_LINES_KEPT lines: more would be read from the engine, sent and
    thrown away in the browser, so `all` and bigger numbers are cut to that bound (the
    Download link serves the whole log).
    """
    bound = settings.LOG_LINES_KEPT
    if value == "all" or (value and _MANY_DIGITS.fullmatch(value)):
        return bound, True
    asked = int(value) if value and _DIGITS.fullmatch(value) else settings.LOG_TAIL_DEFAULT
    return min(asked, bound), asked > bound


class ContainerLogsConsumer(StreamSlot, AsyncWebsocketConsumer):
    permission = "containers.view_container"

    async def connect(self):
        if not await user_may(self.scope, self.permission):
            await self.close()
            return
        if not await self.take_stream_slot():
            return
        self.container_id = self.scope["url_route"]["kwargs"]["container_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.tail, self.tail_capped = parse_tail(query.get("tail", [None])[0])
        self.timestamps = query.get("timestamps", ["0"])[0] == "1"
        try:
            container = await asyncio.to_thread(
                gateway.containers.inspect_container, self.container_id
            )
            self.full_id = container.id
        except gateway.NotFound:
            await self.close()
            return
        except gateway.GatewayError:
            self.full_id = ""  # engine down: accept, say so, and start when it is back
        self.relay = None
        self.stream = None
        self.changed = asyncio.Event()
        # Engine up/down, and this container's own changes: nothing about other containers.
        engine = engines.current()
        self.groups = [engine_events_group(engine.name)]
        if self.full_id:
            self.groups.append(container_group(self.full_id, engine.name))
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.watcher = publisher_for(engine)
        self.watcher.subscribe()
        await self.accept()
        self.task = asyncio.create_task(self.follow(), name=f"logs-{self.container_id[:12]}")

    async def disconnect(self, code):
        if not hasattr(self, "task"):
            return
        self._close_stream()
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        for group in self.groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.watcher.unsubscribe()

    def _close_stream(self):
        if self.relay is not None:
            self.relay.close()
        if self.stream is not None:
            self.stream.close()

    async def live_message(self, message):
        payload = message["payload"]
        if payload.get("type") == "engine" and payload.get("up"):
            self.changed.set()
        elif payload.get("type") == "container" and payload.get("id") == self.full_id:
            self.changed.set()

    async def send_json(self, payload: dict):
        await self.send(text_data=json.dumps(payload))

    async def follow(self):
        since = None  # after the first stream, only what was logged later
        while True:
            self.changed.clear()
            try:
                container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.container_id
                )
                self.full_id = container.id
                if since is None or container.is_running:
                    stream = await open_in_thread(
                        gateway.logs.open_log_stream,
                        container.id,
                        tail=self.tail if since is None else None,
                        since=since,
                        timestamps=self.timestamps,
                        tty=container.tty,
                    )
                    self.stream = stream  # from here on, disconnect() closes it
                    await self.send_json(
                        {
                            "type": "stream",
                            "multiplexed": stream.multiplexed,
                            "timestamps": self.timestamps,
                            "tail": self.tail,
                            "capped": self.tail_capped,
                        }
                    )
                    await self._relay(stream)
                    since = time.time()
                    # The engine ends a followed log when the container stops or the engine
                    # goes away: look again to tell which (or whether it already restarted).
                    continue
                await self.send_json({"type": "state", "state": "stopped", "reason": ""})
            except gateway.NotFound:
                await self.send_json(
                    {"type": "state", "state": "removed", "reason": "The container was removed."}
                )
                return
            except gateway.GatewayError as exc:
                await self.send_json({"type": "state", "state": "engine-down", "reason": str(exc)})
            await self.changed.wait()

    async def _relay(self, stream):
        self.relay = relay = ByteRelay(limit=RELAY_LIMIT)
        self.stream = stream
        pump_bytes(stream.pieces(), relay, name=f"logs-{self.container_id[:12]}")
        try:
            while data := await relay.take():
                await self.send(bytes_data=data)
                # The user's streams share a byte budget: past it, this one waits its turn.
                wait = self.stream_budget.charge(len(data))
                await asyncio.sleep(max(FRAME_INTERVAL, wait))
        finally:
            relay.close()
            stream.close()
            self.relay = self.stream = None
