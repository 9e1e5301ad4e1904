"""A websocket following one container's shared engine stream (its logs, its stats…).

What every such socket does alike: the user must hold the permission and get a stream
slot; the container the URL names is looked up once (its full id finds the shared stream,
whatever the URL named; unknown: the socket is refused). The socket joins the engine's
group and its container's group and, on a change of its container (stop, start, removal)
or the engine coming back, pokes the shared stream so that it looks again; it acts on no
other container's messages. If the engine is down when the socket opens, it is accepted,
says so, and follows once the engine is back.

A subclass says how to follow (`follow(container)`: a container_follow.StreamFollower)
and how to send what the follower gives (`relay()`); the socket closes the follower when
it closes.
"""

import asyncio
import json

from channels.generic.websocket import AsyncWebsocketConsumer

from dockerweb import engines, gateway
from dockerweb.groups import container_group, engine_events_group
from dockerweb.live_model.publisher import publisher_for
from dockerweb.stream_limits import StreamSlot
from dockerweb.ws_auth import user_may

from .container_follow import REMOVED, StreamFollower, engine_down
from .permissions import VIEW


class ContainerStreamConsumer(StreamSlot, AsyncWebsocketConsumer):
    permission = VIEW
    task_name = "follow"  # the relay task is "<task_name>-<the URL's container, short>"
    container_id: str | None = None  # the followed container's full id once the engine named it
    follower: StreamFollower | None = None
    groups_joined: tuple[str, ...] = ()

    # -- what a subclass says
    def follow(self, container) -> StreamFollower:
        """A follower of `container` (gateway ContainerDetail) for this socket."""
        raise NotImplementedError

    async def relay(self) -> None:
        """Send what `self.follower` gives until it ends (or the socket closes)."""
        raise NotImplementedError

    # -- the socket
    async def connect(self):
        if not await user_may(self.scope, self.permission):
            await self.close()
            return
        if not await self.take_stream_slot():
            return
        self.reference = self.scope["url_route"]["kwargs"]["container_id"]
        try:
            container = await asyncio.to_thread(
                gateway.containers.inspect_container, self.reference
            )
        except gateway.NotFound:
            await self.close()
            return
        except gateway.GatewayError:
            container = None  # engine down: accept, say so, and start when it is back
        self.changed = asyncio.Event()
        # Engine up/down, and this container's own changes: nothing about other containers.
        engine = engines.current()
        await self._join_group(engine_events_group(engine.name))
        if container is not None:
            self.container_id = container.id
            await self._join_group(container_group(container.id, engine.name))
        self.watcher = publisher_for(engine)
        self.watcher.subscribe()
        await self.accept()
        self.task = asyncio.create_task(
            self._follow(container), name=f"{self.task_name}-{self.reference[:12]}"
        )

    async def _join_group(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined += (group,)

    async def disconnect(self, code):
        if not hasattr(self, "task"):
            return
        if self.follower is not None:
            self.follower.close()  # stops its own reads at once, whatever the task is doing
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
            relevant = self.container_id is not None and payload.get("id") == self.container_id
        if not relevant:
            return
        if self.follower is not None:
            self.follower.shared.poke()
        self.changed.set()

    async def send_json(self, payload: dict):
        await self.send(text_data=json.dumps(payload))

    async def _follow(self, container):
        while container is None:  # the engine was down when the socket opened
            self.changed.clear()
            try:
                container = await asyncio.to_thread(
                    gateway.containers.inspect_container, self.reference
                )
            except gateway.NotFound:
                await self.send_json(REMOVED)
                return
            except gateway.GatewayError as exc:
                await self.send_json(engine_down(exc))
                await self.changed.wait()
                continue
            self.container_id = container.id
            await self._join_group(container_group(container.id, engines.current().name))
        self.follower = self.follow(container)
        # Not kept while the socket is open: its inspect document is some 20 kB a socket
        # (bench/stats_fanout.py's memory per viewer), and the id is all it still needs.
        del container
        await self.relay()
