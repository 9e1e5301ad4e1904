"""The live-state socket every page opens: engine events, relayed to the browser."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb.events_watcher import watcher
from dockerweb.groups import engine_events_group
from dockerweb.ws_auth import user_may


class LiveStateConsumer(AsyncJsonWebsocketConsumer):
    permission = "containers.view_container"

    async def connect(self):
        if not await user_may(self.scope, self.permission):
            await self.close()
            return
        self.group = engine_events_group()
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.watcher = watcher()
        self.watcher.subscribe()
        await self.accept()
        if self.watcher.engine_up is not None:
            await self.send_json(self.watcher.engine_payload)

    async def disconnect(self, code):
        if hasattr(self, "watcher"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.watcher.unsubscribe()

    async def live_message(self, message):
        await self.send_json(message["payload"])
