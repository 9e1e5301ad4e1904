"""One engine-events watcher per process, turning Docker events into channel-layer messages.

It runs while at least one websocket in this process listens and stops with the last one,
so an idle portal holds no engine stream. Apps register a handler per Docker object type
(`register_handler("container", …)`) that turns an event into the message pages receive.
When the engine goes away the watcher says so to every page, retries, and says so again
when the engine is back, so pages can catch up without a reload button.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

from channels.layers import get_channel_layer

from dockerweb import gateway
from dockerweb.groups import container_group, engine_events_group
from dockerweb.threads import ThreadedIterator, open_in_thread

log = logging.getLogger(__name__)

Handler = Callable[[gateway.events.EngineEvent], Awaitable[dict | None]]
_handlers: dict[str, Handler] = {}

RETRY_MIN, RETRY_MAX = 0.5, 5.0


def register_handler(object_type: str, handler: Handler) -> None:
    """`handler(event)` returns the payload to send to pages, or None to skip the event."""
    _handlers[object_type] = handler


def live_message(payload: dict) -> dict:
    """Wrap a payload for the group; consumers relay it with their `live_message` handler."""
    return {"type": "live.message", "payload": payload}


class EventsWatcher:
    def __init__(self):
        self.subscribers = 0
        self.engine_up: bool | None = None
        self.engine_reason = ""
        self._task: asyncio.Task | None = None
        self._stream: ThreadedIterator | None = None

    @property
    def engine_payload(self) -> dict:
        return {
            "type": "engine",
            "up": bool(self.engine_up),
            "address": gateway.engine_address(),
            "reason": self.engine_reason,
        }

    def subscribe(self) -> None:
        self.subscribers += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="events-watcher")

    async def unsubscribe(self) -> None:
        self.subscribers = max(0, self.subscribers - 1)
        if self.subscribers == 0 and self._task is not None:
            task, self._task = self._task, None
            if self._stream is not None:
                self._stream.close()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        layer = get_channel_layer()
        group = engine_events_group()
        delay = RETRY_MIN
        while True:
            try:
                stream = await open_in_thread(
                    gateway.events.open_event_stream, tuple(_handlers) or ("container",)
                )
            except gateway.GatewayError as exc:
                await self._set_engine(
                    layer, group, up=False, reason=getattr(exc, "reason", str(exc))
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_MIN
            await self._set_engine(layer, group, up=True, reason="")
            self._stream = ThreadedIterator(stream, stream.close, name="engine-events")
            try:
                async for event in self._stream:
                    await self._dispatch(layer, group, event)
            except Exception:
                log.exception("engine events stream failed")
            finally:
                self._stream.close()
                self._stream = None
            # The stream ended: the engine stopped or restarted. Find out which on the next turn.

    async def _dispatch(self, layer, group: str, event) -> None:
        handler = _handlers.get(event.type)
        if handler is None:
            return
        try:
            payload = await handler(event)
        except gateway.GatewayError as exc:
            log.info("could not describe %s %s event: %s", event.type, event.action, exc)
            return
        if payload is not None:
            payload.setdefault("time_nano", event.time_nano)
            await layer.group_send(group, live_message(payload))
            if payload["type"] == "container":  # until the live model publishes per object
                await layer.group_send(container_group(payload["id"]), live_message(payload))

    async def _set_engine(self, layer, group: str, *, up: bool, reason: str) -> None:
        changed = up != self.engine_up or reason != self.engine_reason
        self.engine_up, self.engine_reason = up, reason
        if changed:
            await layer.group_send(group, live_message(self.engine_payload))


# One watcher per event loop: Daphne has one; each async test has its own.
_watchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EventsWatcher]" = (
    weakref.WeakKeyDictionary()
)


def watcher() -> EventsWatcher:
    loop = asyncio.get_running_loop()
    if loop not in _watchers:
        _watchers[loop] = EventsWatcher()
    return _watchers[loop]
