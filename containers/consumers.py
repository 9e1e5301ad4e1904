"""Live logs of one container over a websocket.

Wire format — binary frames carry the engine's log bytes (with Docker's 8-byte stream
headers when the container has no TTY; the browser splits them), text frames carry JSON
control messages:
  {"type": "stream", "multiplexed": bool, "timestamps": bool, "tail": int, "capped": bool}
      before the tail and whenever the log goes on after a stop or an engine outage;
      `capped`: more lines were asked for than a tab keeps
  {"type": "state", "state": "stopped" | "removed" | "engine-down" | "too-many-streams",
   "reason": str}
  {"type": "skipped", "bytes": int}
      this socket fell too far behind the others following the same container: that many
      bytes of log were not sent here, the binary frames go on after them
A socket first gets its own tail (the last `tail` lines, read for it alone), then the live
bytes of the one engine stream all sockets following that container share
(containers/log_fanout.py: how the two meet without a line twice or missing, and what a slow
socket loses). Bytes are forwarded as the engine sent them (their times cut off when the
socket did not ask for timestamps), so a container printing thousands of lines a second
can't make a socket fall behind the engine. What a user's log sockets send together is
bounded by their byte budget (dockerweb/stream_limits.py): past it a socket waits; alone on
its container, its engine stream waits with it.

The socket joins its container's group for the container's changes (stop, start, removal)
and the engine's group for the engine going away and coming back; it acts on no other
container's messages.
"""

import asyncio
import contextlib
import json
import re
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from dockerweb import engines, gateway
from dockerweb.groups import container_group, engine_events_group
from dockerweb.live_model.publisher import publisher_for
from dockerweb.stream_limits import StreamSlot
from dockerweb.ws_auth import user_may

from . import log_fanout

# At most ~40 frames a second: bytes that arrive meanwhile go out together in the next one.
FRAME_INTERVAL = 0.025
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
    container = None  # the followed container (gateway Container) once the engine named it
    follower = None
    groups_joined: tuple[str, ...] = ()

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
            self.container = await asyncio.to_thread(
                gateway.containers.inspect_container, self.container_id
            )
        except gateway.NotFound:
            await self.close()
            return
        except gateway.GatewayError:
            pass  # engine down: accept, say so, and start when it is back
        self.changed = asyncio.Event()
        # Engine up/down, and this container's own changes: nothing about other containers.
        engine = engines.current()
        await self._join_group(engine_events_group(engine.name))
        if self.container is not None:
            await self._join_group(container_group(self.container.id, engine.name))
        self.watcher = publisher_for(engine)
        self.watcher.subscribe()
        await self.accept()
        self.task = asyncio.create_task(self.follow(), name=f"logs-{self.container_id[:12]}")

    async def _join_group(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined += (group,)

    async def disconnect(self, code):
        if not hasattr(self, "task"):
            return
        if self.follower is not None:
            self.follower.close()  # stops a tail read at once, whatever the task is doing
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.watcher.unsubscribe()

    async def live_message(self, message):
        payload = message["payload"]
        if payload.get("type") == "engine":
            # Down: the stream ends by itself, and what follows is decided when it is back.
            relevant = payload.get("up")
        else:
            # Its own container's group: a change of this container.
            relevant = self.container is not None and payload.get("id") == self.container.id
        if not relevant:
            return
        if self.follower is not None:
            self.follower.shared.poke()
        self.changed.set()

    async def send_json(self, payload: dict):
        await self.send(text_data=json.dumps(payload))

    async def follow(self):
        while self.container is None:  # the engine was down when the socket opened
            self.changed.clear()
            try:
                self.container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.container_id
                )
            except gateway.NotFound:
                await self.send_json(log_fanout.REMOVED)
                return
            except gateway.GatewayError as exc:
                await self.send_json(log_fanout.engine_down(exc))
                await self.changed.wait()
                continue
            await self._join_group(container_group(self.container.id, engines.current().name))
        self.follower = log_fanout.follow(
            self.container, tail=self.tail, timestamps=self.timestamps, capped=self.tail_capped
        )
        async with contextlib.aclosing(self.follower.items()) as items:
            async for item in items:
                if isinstance(item, dict):
                    await self.send_json(item)
                    continue
                await self.send(bytes_data=item)
                # The user's streams share a byte budget: past it, this one waits its turn.
                wait = self.stream_budget.charge(len(item))
                await asyncio.sleep(max(FRAME_INTERVAL, wait))
