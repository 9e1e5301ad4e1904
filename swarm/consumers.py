"""The swarm pages' sockets: what changed in the swarm, and a service's live logs.

Both need a logged-in user with swarm.view_swarm (Origin is checked for every socket in
dockerweb/asgi.py), take a stream slot (dockerweb/stream_limits.py) and work on the engine
of their URL (engines.current(): their gateway calls and threads go to it).

`SwarmEventsConsumer` follows the engine's service and node events, and the container
events of service tasks on this node, and tells the page `{"type": "changed", "kinds": […]}`
(at most every CHANGE_INTERVAL): the page fetches its live parts again. A task on another
node starts without an event reaching this engine, and a task's state follows its
container's event a moment later, so after a service or task event the socket looks at that
service's tasks a few times (SETTLE_SECONDS at most, every SETTLE_INTERVAL) until each one is
in the state the swarm wants, and says "changed" when they moved.

`ServiceLogsConsumer` streams `service_logs(follow=True)` in the wire format of the
container log socket (containers/consumers.py), so the page uses the same viewer
(static/js/logs.js): binary frames of the engine's bytes, JSON control messages. One engine
stream per socket (a service's logs are read by few), read in its own thread into a bounded
ByteRelay, sent within the user's byte budget; a second one, of service events, ends it when
the service is removed (the engine keeps a followed service log open after that). The
container log fan-out (containers/log_fanout.py) is not reused: its shared stream is built
around one container's states (inspect, start, stop), which a service doesn't have.
"""

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from containers.consumers import FRAME_INTERVAL, parse_tail
from dockerweb import gateway
from dockerweb.stream_limits import StreamSlot
from dockerweb.threads import ByteRelay, ThreadedIterator, open_in_thread, pump_bytes
from dockerweb.ws_auth import user_may

from .permissions import VIEW

CHANGE_INTERVAL = 0.3  # seconds: a burst of events makes one re-render
SETTLE_SECONDS = 60
SETTLE_INTERVAL = 1.0
RETRY_SECONDS = 5.0  # after the engine went away, look again this often
SETTLED = {"running", "shutdown", "complete", "failed", "rejected", "orphaned", "remove"}


class _SwarmSocket(StreamSlot, AsyncWebsocketConsumer):
    async def allowed(self) -> bool:
        if not await user_may(self.scope, VIEW):
            await self.close()
            return False
        return await self.take_stream_slot()

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))

    async def disconnect(self, code):
        task = getattr(self, "task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class SwarmEventsConsumer(_SwarmSocket):
    async def connect(self):
        if not await self.allowed():
            return
        self.pending: asyncio.Task | None = None
        self.kinds: set[str] = set()
        self.settling: dict[str, asyncio.Task] = {}
        await self.accept()
        self.task = asyncio.create_task(self._follow(), name="swarm-events")

    async def disconnect(self, code):
        for task in [*getattr(self, "settling", {}).values(), getattr(self, "pending", None)]:
            if task is not None:
                task.cancel()
        await super().disconnect(code)

    async def _follow(self) -> None:
        while True:
            try:
                stream = await open_in_thread(
                    gateway.events.open_event_stream, ("service", "node", "container")
                )
            except gateway.GatewayError as exc:
                await self.send_json({"type": "state", "state": "engine-down", "reason": str(exc)})
                await asyncio.sleep(RETRY_SECONDS)
                continue
            events = ThreadedIterator(stream, stream.close, name="swarm-events")
            try:
                await self.send_json({"type": "state", "state": "following"})
                self.changed()  # whatever happened while the socket was not following
                async for event in events:
                    self._seen(event)
            except Exception:  # noqa: BLE001, S110 - the engine went away mid-stream: retried
                pass
            finally:
                events.close()
            await asyncio.sleep(RETRY_SECONDS)  # the engine ended the stream: it went away

    def _seen(self, event) -> None:
        if event.type == "container":
            service_id = event.attributes.get(gateway.swarm.SERVICE_ID_LABEL)
            if not service_id:
                return  # not a task: the containers pages have their own live updates
            self.changed("task")
            # The swarm sets the task's state a moment after its container's event.
            self._settle(service_id, restart=False)
            return
        self.changed(event.type)
        if event.type == "service" and event.action != "remove":
            self._settle(event.id)

    def changed(self, kind: str = "") -> None:
        """Say "changed" soon, once for a burst; `kinds` tells what moved (service, node,
        task; none for a catch-up)."""
        if kind:
            self.kinds.add(kind)
        if self.pending is None or self.pending.done():
            self.pending = asyncio.create_task(self._say_changed())

    async def _say_changed(self) -> None:
        await asyncio.sleep(CHANGE_INTERVAL)
        kinds, self.kinds = sorted(self.kinds), set()
        await self.send_json({"type": "changed", "kinds": kinds})

    def _settle(self, service_id: str, *, restart: bool = True) -> None:
        running = self.settling.get(service_id)
        if running is not None and not running.done():
            if not restart:
                return
            running.cancel()
        self.settling[service_id] = asyncio.create_task(self._watch_tasks(service_id))

    async def _watch_tasks(self, service_id: str) -> None:
        seen = None
        loop = asyncio.get_running_loop()
        until = loop.time() + SETTLE_SECONDS
        while loop.time() < until:
            await asyncio.sleep(SETTLE_INTERVAL)
            try:
                tasks = await asyncio.to_thread(gateway.swarm.tasks, service_id)
            except gateway.GatewayError:
                return
            now = [(t.id, t.state, t.desired_state) for t in tasks]
            if now != seen:  # the first look too: the page may have been rendered before it
                self.changed("task")
            seen = now
            if all(t.state == t.desired_state or t.state in SETTLED for t in tasks) and all(
                t.state != "running" or t.desired_state == "running" for t in tasks
            ):
                return


class ServiceLogsConsumer(_SwarmSocket):
    async def connect(self):
        if not await self.allowed():
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.tail, self.capped = parse_tail(query.get("tail", [None])[0])
        self.timestamps = query.get("timestamps", ["0"])[0] == "1"
        self.service_id = self.scope["url_route"]["kwargs"]["service_id"]
        self.relay: ByteRelay | None = None
        self.stream = None
        await self.accept()
        self.task = asyncio.create_task(self._stream(), name=f"service-logs-{self.service_id}")
        self.watch = asyncio.create_task(self._watch_removal(), name="service-logs-removal")

    async def disconnect(self, code):
        if getattr(self, "watch", None) is not None:
            self.watch.cancel()
        if getattr(self, "relay", None) is not None:
            self.relay.close()
        if getattr(self, "stream", None) is not None:
            self.stream.close()
        await super().disconnect(code)

    async def _watch_removal(self) -> None:
        """The engine keeps a service's followed logs open after the service is removed:
        its remove event ends them here."""
        while True:
            try:
                service = await asyncio.to_thread(gateway.swarm.service, self.service_id)
                events = await open_in_thread(gateway.events.open_event_stream, ("service",))
            except gateway.NotFound:
                return  # the log socket says so itself
            except gateway.GatewayError:
                await asyncio.sleep(RETRY_SECONDS)
                continue
            iterator = ThreadedIterator(events, events.close, name="service-logs-events")
            try:
                async for event in iterator:
                    if event.id == service.id and event.action == "remove":
                        if self.stream is not None:
                            self.stream.close()
                        return
            except Exception:  # noqa: BLE001, S110 - the engine went away: look again
                pass
            finally:
                iterator.close()
            await asyncio.sleep(RETRY_SECONDS)

    async def _stream(self) -> None:
        tail = self.tail
        while True:
            try:
                self.stream = await open_in_thread(
                    gateway.swarm.open_service_logs,
                    self.service_id,
                    tail=tail,
                    follow=True,
                    timestamps=self.timestamps,
                )
            except gateway.NotFound:
                await self._state("removed", f"There is no service {self.service_id}.")
                return
            except gateway.GatewayError as exc:
                await self._state("engine-down", str(exc))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await self._relay(tail)
            # The engine ended the stream: the service was removed, or the engine went away.
            try:
                await asyncio.to_thread(gateway.swarm.service, self.service_id)
            except gateway.NotFound:
                await self._state("removed", "The service was removed.")
                return
            except gateway.GatewayError as exc:
                await self._state("engine-down", str(exc))
            await asyncio.sleep(RETRY_SECONDS)
            tail = 0  # what was shown stays; only what comes next

    async def _relay(self, tail: int) -> None:
        await self.send_json(
            {
                "type": "stream",
                "multiplexed": self.stream.multiplexed,
                "timestamps": self.timestamps,
                "tail": tail,
                "capped": self.capped,
            }
        )
        self.relay = ByteRelay(limit=256 * 1024)
        pump_bytes(self.stream.pieces(), self.relay, name=f"service-logs-{self.service_id[:12]}")
        while data := await self.relay.take():
            await self.send(bytes_data=data)
            wait = self.stream_budget.charge(len(data))
            await asyncio.sleep(max(FRAME_INTERVAL, wait))
        self.stream.close()

    async def _state(self, state: str, reason: str) -> None:
        await self.send_json({"type": "state", "state": state, "reason": reason})
