"""The live-state socket every page opens: engine events, relayed to the browser."""

import asyncio
import time
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dockerweb import gateway
from dockerweb.events_watcher import watcher
from dockerweb.groups import engine_events_group
from dockerweb.ws_auth import user_may

# A page older than this just reloads its lists when it reconnects anyway.
MAX_CATCH_UP = 300


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
        await self.catch_up()

    async def catch_up(self):
        """Tell the page to fetch its lists again if anything changed since it was rendered.

        The page passes its render time (`?since=`); events between that moment and this
        subscription would otherwise be lost. One bounded query to the engine's event log.
        """
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            since = float(query.get("since", [""])[0])
        except ValueError:
            return
        now = time.time()
        if not now - MAX_CATCH_UP <= since <= now:
            return
        try:
            changed = await asyncio.to_thread(gateway.events.happened_between, since, now)
        except gateway.GatewayError:
            return  # the engine banner covers it; the page resyncs when the engine is back
        if changed:
            await self.send_json({"type": "resync"})

    async def disconnect(self, code):
        if hasattr(self, "watcher"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.watcher.unsubscribe()

    async def live_message(self, message):
        await self.send_json(message["payload"])
