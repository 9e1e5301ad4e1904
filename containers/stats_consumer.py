"""Live stats of one container over a websocket (send-only: it takes no commands).

Wire format, text frames of JSON:
  {"type": "history", "samples": [sample, ...]}  first: the last five minutes kept
  {"type": "sample", "t": s, "cpu": %, "mem": B, "mem_limit": B, "net_rx": B/s,
   "net_tx": B/s, "blk_read": B/s, "blk_write": B/s, "pids": n}   about one a second
  {"type": "state", "state": "running" | "stopped" | "removed" | "engine-down" |
   "too-many-streams", "reason": str}
Numbers the engine can't give yet (CPU % and rates of a stream's first sample) are null.

Every socket on one container shares one engine stream (containers/stats_fanout.py). The
socket joins its container's group and the engine's group so that a container started
again, or an engine back, is streamed again; it acts on no other container's messages.
"""

import asyncio
import contextlib
import json

from channels.generic.websocket import AsyncWebsocketConsumer

from dockerweb import engines, gateway
from dockerweb.groups import container_group, engine_events_group
from dockerweb.live_model.publisher import publisher_for
from dockerweb.stream_limits import StreamSlot
from dockerweb.ws_auth import user_may

from . import stats_fanout
from .permissions import VIEW


class ContainerStatsConsumer(StreamSlot, AsyncWebsocketConsumer):
    permission = VIEW
    viewer = None
    groups_joined: tuple[str, ...] = ()

    async def connect(self):
        if not await user_may(self.scope, self.permission):
            await self.close()
            return
        if not await self.take_stream_slot():
            return
        reference = self.scope["url_route"]["kwargs"]["container_id"]
        try:
            # The full id: the shared stream is found by it, whatever the URL named.
            container = await asyncio.to_thread(gateway.containers.inspect_container, reference)
        except gateway.NotFound:
            await self.close()
            return
        except gateway.GatewayError:
            container = None  # engine down: accept, say so, and start when it is back
        self.container_id = container.id if container is not None else None
        self.reference = reference
        self.changed = asyncio.Event()
        engine = engines.current()
        await self._join_group(engine_events_group(engine.name))
        if container is not None:
            await self._join_group(container_group(container.id, engine.name))
        self.watcher = publisher_for(engine)
        self.watcher.subscribe()
        await self.accept()
        self.task = asyncio.create_task(self.relay(), name=f"stats-{reference[:12]}")

    async def _join_group(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined += (group,)

    async def disconnect(self, code):
        if not hasattr(self, "task"):
            return
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        if self.viewer is not None:
            self.viewer.close()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.watcher.unsubscribe()

    async def live_message(self, message):
        payload = message["payload"]
        if payload.get("type") == "engine":
            relevant = payload.get("up")  # down: the stream ends by itself
        else:
            relevant = self.container_id is not None and payload.get("id") == self.container_id
        if not relevant:
            return
        if self.viewer is not None:
            self.viewer.shared.poke()
        self.changed.set()

    async def relay(self):
        while self.container_id is None:  # the engine was down when the socket opened
            self.changed.clear()
            try:
                container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.reference
                )
            except gateway.NotFound:
                await self.send(text_data=_text(stats_fanout.REMOVED))
                return
            except gateway.GatewayError as exc:
                await self.send(text_data=_text(stats_fanout.engine_down(exc)))
                await self.changed.wait()
                continue
            self.container_id = container.id
            await self._join_group(container_group(container.id, engines.current().name))
        self.viewer = stats_fanout.watch(self.container_id)
        async with contextlib.aclosing(self.viewer.messages()) as messages:
            async for text in messages:
                await self.send(text_data=text)


def _text(message: dict) -> str:
    return json.dumps(message)
