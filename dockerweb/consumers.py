"""The live-state socket every page opens: the live model's changes, for what the page shows.

On connect it joins the engine group (engine up/down, "fetch your lists again") and the list
groups of the kinds of object the user may see. The page then says which containers it shows
(`{"watch": [ids]}`, again after every re-render) and the socket joins exactly their groups:
their sidebar items and rows arrive patched; other containers' changes only as a short list
line and counts.
"""

import re
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb import engines
from dockerweb.groups import container_group, engine_events_group, list_group
from dockerweb.live_model.publisher import engine_payload, publisher_for
from dockerweb.ws_auth import user_may

# A page shows at most a sidebar window and a table window.
MAX_WATCHED = 400
_CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")
LIST_PERMISSIONS = {
    "container": "containers.view_container",
    "image": "images.view_image",
    "volume": "volumes.view_volume",
    "network": "networks.view_network",
}


@database_sync_to_async
def _visible_kinds(user) -> list[str]:
    return [kind for kind, permission in LIST_PERMISSIONS.items() if user.has_perm(permission)]


class LiveStateConsumer(AsyncJsonWebsocketConsumer):
    permission = "containers.view_container"

    async def connect(self):
        if not await user_may(self.scope, self.permission):
            await self.close()
            return
        self.engine = engines.current()
        self.watched: set[str] = set()
        self.joined = [engine_events_group(self.engine.name)] + [
            list_group(kind, self.engine.name) for kind in await _visible_kinds(self.scope["user"])
        ]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.publisher = publisher_for(self.engine)
        self.publisher.subscribe()
        await self.accept()
        if self.engine.sync.status in ("up", "down"):
            await self.send_json(engine_payload(self.engine))
        await self.catch_up()

    async def catch_up(self):
        """Tell the page to fetch its lists again if the model changed since it was
        rendered (the page says from which version, `?v=`): those changes were published
        before this socket listened."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        rendered = query.get("v", [""])[0]
        if rendered.isdigit() and self.engine.sync.status == "up":
            if int(rendered) != self.engine.model.version:
                await self.send_json({"type": "resync"})

    async def receive_json(self, content, **kwargs):
        ids = content.get("watch") if isinstance(content, dict) else None
        if not isinstance(ids, list):
            return
        wanted = {i for i in ids[:MAX_WATCHED] if isinstance(i, str) and _CONTAINER_ID.match(i)}
        for container_id in self.watched - wanted:
            await self.channel_layer.group_discard(
                container_group(container_id, self.engine.name), self.channel_name
            )
        for container_id in wanted - self.watched:
            await self.channel_layer.group_add(
                container_group(container_id, self.engine.name), self.channel_name
            )
        self.watched = wanted

    async def disconnect(self, code):
        if not hasattr(self, "publisher"):
            return
        for group in self.joined + [container_group(i, self.engine.name) for i in self.watched]:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.publisher.unsubscribe()

    async def live_message(self, message):
        await self.send_json(message["payload"])
