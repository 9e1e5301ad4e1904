"""Live logs of one container over a websocket.

Wire format — binary frames carry the engine's log bytes as they come (with Docker's
8-byte stream headers when the container has no TTY; the browser splits them), text frames
carry JSON control messages:
  {"type": "stream", "multiplexed": bool, "timestamps": bool}  before each (re)opened stream
  {"type": "state", "state": "stopped" | "removed" | "engine-down", "reason": str}
Forwarding bytes untouched keeps the server's cost per line near zero, so a container
printing thousands of lines a second can't make this socket fall behind the engine.
"""

import asyncio
import json
import time
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from dockerweb import gateway
from dockerweb.events_watcher import watcher
from dockerweb.groups import engine_events_group
from dockerweb.threads import ByteRelay, open_in_thread, pump_bytes
from dockerweb.ws_auth import user_may

MAX_TAIL = 1_000_000
# At most ~40 frames a second: bytes that arrive meanwhile go out together in the next one.
FRAME_INTERVAL = 0.025


def parse_tail(value: str | None) -> int | None:
    """`tail` query value → line count (None means the whole log)."""
    if value == "all":
        return None
    if value and value.isdigit():
        return min(int(value), MAX_TAIL)
    return settings.LOG_TAIL_DEFAULT


class ContainerLogsConsumer(AsyncWebsocketConsumer):
    permission = "containers.view_container"

    async def connect(self):
        if not await user_may(self.scope, self.permission):
            await self.close()
            return
        self.container_id = self.scope["url_route"]["kwargs"]["container_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.tail = parse_tail(query.get("tail", [None])[0])
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
        self.group = engine_events_group()
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.watcher = watcher()
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
        await self.channel_layer.group_discard(self.group, self.channel_name)
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
        self.relay = relay = ByteRelay()
        self.stream = stream
        pump_bytes(stream.pieces(), relay, name=f"logs-{self.container_id[:12]}")
        try:
            while data := await relay.take():
                await self.send(bytes_data=data)
                await asyncio.sleep(FRAME_INTERVAL)
        finally:
            relay.close()
            stream.close()
            self.relay = self.stream = None
