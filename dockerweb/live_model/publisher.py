"""From the live model to the browsers: each change goes to the channel-layer group of the
object it concerns and to the group of its list.

A container's change goes with its sidebar item and table row, rendered once, to
`container.<id>` — only sockets whose page shows that container are in it. Its list group
gets a short line (id, action, state) and the counts, so a page can tell whether its window
must be fetched again (a container added, removed, or newly matching its filter). Engine
up/down and "everything changed" (a new listing after a reconnect) go to the engine group.

One publisher per event loop (Daphne has one; every async test has its own): the model calls
its listener from whatever thread changed it, and the listener only hands the change to the
loop. It runs while at least one socket of that loop listens. With several portal processes
on one Redis, only the one holding the engine's lease sends (leader.py).
"""

import asyncio
import weakref

from channels.layers import get_channel_layer

from dockerweb import container_html
from dockerweb.groups import container_group, engine_events_group, list_group

from . import leader

# A list message names at most this many changes; past it the page just fetches its window.
LIST_CHANGES_MAX = 200


def live_message(payload: dict) -> dict:
    """Wrap a payload for a group; consumers relay it with their `live_message` handler."""
    return {"type": "live.message", "payload": payload}


def engine_payload(engine) -> dict:
    sync = engine.sync
    return {
        "type": "engine",
        "up": sync.status == "up",
        "address": engine.address,
        "reason": sync.reason,
    }


def container_payload(change) -> dict:
    summary = change.obj
    payload = {"type": "container", "id": change.key, "action": change.action}
    if change.cause is not None:
        # The engine event behind it (start, die…) and when it happened: what pages and the
        # latency bench tell apart. Several events of one container in a batch make one change.
        payload["event"], payload["time_nano"] = change.cause
    if summary is None:
        return {**payload, "removed": True}
    return {
        **payload,
        "name": summary.name,
        "state": summary.state,
        "sidebar": container_html.sidebar_item(summary),
        "row": container_html.table_row(summary),
    }


class Publisher:
    def __init__(self, engine):
        self.engine = engine
        self.subscribers = 0
        self._task: asyncio.Task | None = None
        self._listener = None
        self._lease: leader.Always | leader.Lease = leader.Always()

    def subscribe(self) -> None:
        self.subscribers += 1
        if self._task is not None and not self._task.done():
            return
        loop = asyncio.get_running_loop()
        changes: asyncio.Queue = asyncio.Queue()

        def listener(change):
            # Raises RuntimeError once the loop is closed: the model then drops the listener.
            loop.call_soon_threadsafe(changes.put_nowait, change)

        self._listener = listener
        self.engine.model.listen(listener)
        self.engine.sync.ensure_running()
        self._lease = leader.lease(self.engine.name, on_gained=self._resync)
        self._task = loop.create_task(self._run(changes), name=f"publisher-{self.engine.name}")

    async def unsubscribe(self) -> None:
        self.subscribers = max(0, self.subscribers - 1)
        if self.subscribers or self._task is None:
            return
        self.engine.model.unlisten(self._listener)
        task, self._task = self._task, None
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await self._lease.end()

    async def _resync(self) -> None:
        """This process took over publishing: changes since the last publisher ended went
        unsaid, so every page of the engine fetches its lists again."""
        await get_channel_layer().group_send(
            engine_events_group(self.engine.name), live_message({"type": "resync"})
        )

    async def _run(self, changes: asyncio.Queue) -> None:
        layer = get_channel_layer()
        while True:
            batch = [await changes.get()]
            while not changes.empty():
                batch.append(changes.get_nowait())
            await self._publish(layer, batch)

    async def _publish(self, layer, batch) -> None:
        if not self._lease.held:
            return  # another portal process publishes this engine's changes
        engine_group = engine_events_group(self.engine.name)
        lists: dict[str, list[dict]] = {}
        for change in batch:
            if change.kind == "engine":
                await layer.group_send(engine_group, live_message(engine_payload(self.engine)))
            elif change.kind == "":
                await layer.group_send(engine_group, live_message({"type": "resync"}))
            elif change.kind == "container":
                await layer.group_send(
                    container_group(change.key, self.engine.name),
                    live_message(container_payload(change)),
                )
                lists.setdefault("container", []).append(
                    {
                        "id": change.key,
                        "action": change.action,
                        "state": getattr(change.obj, "state", ""),
                    }
                )
            else:
                lists.setdefault(change.kind, []).append(
                    {"id": change.key, "action": change.action}
                )
        if not lists:
            return
        counts = self.engine.model.counts()
        for kind, items in lists.items():
            payload = {
                "type": "list",
                "kind": kind,
                "changes": items[-LIST_CHANGES_MAX:],
                "more": len(items) > LIST_CHANGES_MAX,
                "counts": counts,
            }
            await layer.group_send(list_group(kind, self.engine.name), live_message(payload))


_publishers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = (
    weakref.WeakKeyDictionary()
)


def publisher_for(engine) -> Publisher:
    """This event loop's publisher of `engine`'s model."""
    per_loop = _publishers.setdefault(asyncio.get_running_loop(), {})
    if engine.name not in per_loop or per_loop[engine.name].engine is not engine:
        per_loop[engine.name] = Publisher(engine)
    return per_loop[engine.name]
