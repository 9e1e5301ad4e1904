"""Keeping one engine's live model true: list, then watch (the Kubernetes informer pattern).

One thread per engine and process:
1. ask the engine's clock, open its events stream from one second before that, and list
   containers, images, volumes and networks — events that happen while listing are in the
   stream and get applied after the listing (applying one twice is harmless: each event
   fetches the object's current state);
2. apply the events in order, in batches: whatever queued up while the last batch was being
   applied goes in the next one, with targeted calls only: the changed containers' listing
   rows (a hundred per call), a volume's or network's inspect; images are listed again, once
   per batch — and past RELIST_ABOVE changed containers, one listing instead;
3. when the stream ends (the engine stopped or restarted) start again at 1; while the engine
   can't be reached the model is empty and says why (pages show the banner), retrying with
   backoff.
The thread stops when nobody has read the model for IDLE_STOP seconds and no socket
listens, so an idle portal holds no engine stream; the next reader starts it again.
"""

import logging
import queue
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

from dockerweb import gateway

log = logging.getLogger(__name__)

EVENT_TYPES = ("container", "image", "volume", "network")
# Container actions that change nothing a listing shows.
_QUIET_CONTAINER_ACTIONS = {
    "exec_create",
    "exec_start",
    "exec_die",
    "exec_detach",
    "attach",
    "detach",
    "resize",
    "top",
    "export",
    "copy",
    "archive-path",
    "extract-to-dir",
    "commit",
}
# Container events that say the container's new state by themselves.
_STATE_OF_ACTION = {"start": "running", "die": "exited", "pause": "paused", "unpause": "running"}
_IMAGE_ACTIONS = {"pull", "tag", "untag", "delete", "import", "load", "build"}
# Changed containers are fetched by id, this many per call (the engine filters by a list of
# ids and serialises only those)...
IDS_PER_CALL = 100
# ...and past this many in one batch, one whole listing costs less.
RELIST_ABOVE = 2000
BATCH_MAX = 5000
IDLE_STOP = 300.0  # seconds without a reader or listener
RETRY_MIN, RETRY_MAX = 0.5, 5.0
_END = object()


class ModelSync:
    def __init__(self, engine):
        self.engine = engine
        self.model = engine.model
        self.status = "stopped"  # stopped, starting, up, down
        self.reason = ""
        self.ready = threading.Event()  # the first attempt has ended (up or down)
        self.last_read = time.monotonic()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stream = None
        self._stopping = threading.Event()
        self._wake = threading.Event()  # cut a retry's backoff short
        self._attempted = threading.Event()  # set after each attempt to list, up or down
        # Container id → time (ns) of the latest state event applied on arrival.
        self._said_ns: dict[str, int] = {}
        # Container id → when an action last refreshed it (time.monotonic()).
        self._refreshed_at: dict[str, float] = {}

    # --- control ------------------------------------------------------------------------

    def ensure_running(self) -> None:
        self.last_read = time.monotonic()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self.status, self.reason = "starting", ""
            self.ready.clear()
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"live-model-{self.engine.name}", daemon=True
            )
            self._thread.start()

    def retry_now(self, wait: float) -> None:
        """While the engine is down: try again at once (a page asked), waiting at most
        `wait` seconds for the outcome, so a reload after the engine is back shows it."""
        if self.status != "down":
            return
        self._attempted.clear()
        self._wake.set()
        self._attempted.wait(wait)

    def stop(self) -> None:
        """End the thread (tests; shutting down)."""
        self._stopping.set()
        self._wake.set()
        self._close_stream()
        thread = self._thread
        if thread is not None:
            thread.join(10)

    def _close_stream(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.close()

    def _idle(self) -> bool:
        return time.monotonic() - self.last_read > IDLE_STOP and not self.model.listened

    # --- the loop -----------------------------------------------------------------------

    def _run(self) -> None:
        delay = RETRY_MIN
        with gateway.client.using(self.engine.model_connection):
            while not self._stopping.is_set():
                try:
                    try:
                        events = self._list_then_watch()
                    except gateway.EngineUnavailable:
                        if self.status != "up":
                            raise
                        # The first failure after a working stream may be a pooled
                        # connection the engine dropped: once more, on a fresh one.
                        self.engine.model_connection.close()
                        events = self._list_then_watch()
                except gateway.GatewayError as exc:
                    self._set_down(getattr(exc, "reason", "") or str(exc))
                    self._attempted.set()
                    if self._idle():
                        break
                    self._wake.wait(delay)
                    self._wake.clear()
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                self._attempted.set()
                delay = RETRY_MIN
                try:
                    self._watch(events)
                except gateway.GatewayError as exc:
                    log.info("engine %s: %s; listing again", self.engine.name, exc)
                finally:
                    self._close_stream()
                    self._stream = None
                if self._idle():
                    break
        self.model.forget_all()
        self.status = "stopped"

    def _list_then_watch(self) -> "queue.Queue":
        since = gateway.events.engine_clock() - 1
        stream = gateway.events.open_event_stream(EVENT_TYPES, since=since)
        self._stream = stream
        events: queue.Queue = queue.Queue()
        self._said_ns.clear()
        threading.Thread(
            target=_pump,
            args=(stream, events, self.apply_state_event),
            name=f"live-events-{self.engine.name}",
            daemon=True,
        ).start()
        containers = gateway.containers.list_containers()
        images = gateway.images.list_images()
        volumes = gateway.volumes.list_volumes()
        networks = gateway.networks.list_network_records()
        self.model.replace_all(containers, images, volumes, networks)
        self.status, self.reason = "up", ""
        self.model.engine_status(True)
        self.ready.set()
        return events

    def _set_down(self, reason: str) -> None:
        changed = self.status != "down" or self.reason != reason
        self.status, self.reason = "down", reason
        if self.model.synced:
            self.model.forget_all()
        if changed:
            log.info("engine %s unavailable: %s", self.engine.name, reason)
            self.model.engine_status(False, reason)
        self.ready.set()

    def _watch(self, events: "queue.Queue") -> None:
        while not self._stopping.is_set():
            try:
                first = events.get(timeout=5)
            except queue.Empty:
                if self._idle():
                    return
                continue
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            ended = any(event is _END for event in batch)
            self.apply_events([event for event in batch if event is not _END])
            if ended:
                return  # the engine ended the stream: list again

    # --- applying events ----------------------------------------------------------------

    def apply_events(self, events) -> None:
        """Apply a batch of engine events, in order, with as few engine calls as it takes."""
        containers: dict[str, tuple[str, int]] = {}  # id → its last (action, time_nano)
        volumes: dict[str, str] = {}
        networks: dict[str, str] = {}
        images_changed = False
        for event in events:
            action = event.action.split(":", 1)[0]
            if event.type == "container" and action not in _QUIET_CONTAINER_ACTIONS:
                containers[event.id] = (action, event.time_nano)
            elif event.type == "network" and action in ("connect", "disconnect"):
                # The container's listing row names its networks.
                if container_id := event.attributes.get("container"):
                    containers.setdefault(container_id, (action, event.time_nano))
            elif event.type == "network" and action in ("create", "destroy", "remove"):
                networks[event.id] = action
            elif event.type == "volume" and action in ("create", "destroy"):
                volumes[event.id] = action
            elif event.type == "image" and action in _IMAGE_ACTIONS:
                images_changed = True
        self._apply_containers(containers)
        for name, action in volumes.items():
            if action == "destroy":
                self.model.drop_volume(name)
            else:
                self.refresh_volume(name)
        for network_id, action in networks.items():
            if action in ("destroy", "remove"):
                self.model.drop_network(network_id)
            else:
                self.refresh_network(network_id)
        if images_changed:
            self.model.replace_images(gateway.images.list_images())

    def apply_state_event(self, event) -> None:
        """Start, die, pause and unpause say the new state themselves: applied as the event
        arrives (in the reader thread, no engine call), before the targeted calls of its
        batch confirm it (ports, status text…)."""
        if event.type != "container" or event.action not in _STATE_OF_ACTION:
            return
        summary = self.model.container(event.id)
        if summary is None:
            return
        at = datetime.fromtimestamp(event.time_nano / 1e9, tz=UTC)
        if event.action == "die":
            status = f"Exited ({event.attributes.get('exitCode', '0')}) Less than a second ago"
        elif event.action == "pause":
            status = summary.status if "(Paused)" in summary.status else "Up (Paused)"
        else:
            status = "Up Less than a second"
        since = summary.state_since if event.action in ("pause", "unpause") else at
        updated = replace(
            summary, state=_STATE_OF_ACTION[event.action], status=status, state_since=since
        )
        with self._lock:
            self._said_ns[event.id] = max(self._said_ns.get(event.id, 0), event.time_nano)
        self.model.put_container(updated, (event.action, event.time_nano))

    def _apply_containers(self, causes: dict[str, tuple[str, int]]) -> None:
        changed = [cid for cid, (action, _) in causes.items() if action != "destroy"]
        for cid, cause in causes.items():
            if cause[0] == "destroy":
                self.model.drop_container(cid, cause)
        fetched_at = time.monotonic()
        if len(changed) > RELIST_ABOVE:
            listed = {c.id: c for c in gateway.containers.list_containers()}
            chunks = [changed]
        else:
            chunks = [changed[i : i + IDS_PER_CALL] for i in range(0, len(changed), IDS_PER_CALL)]
        for chunk in chunks:
            if len(changed) <= RELIST_ABOVE:
                listed = gateway.containers.get_summaries(chunk)
            for cid in chunk:
                if self._superseded(cid, causes[cid][1]) or self._refreshed_since(cid, fetched_at):
                    continue  # something later already said more (an event, an action)
                if cid in listed:
                    self.model.put_container(listed[cid], causes[cid])
                else:
                    self.model.drop_container(cid, causes[cid])

    def _refreshed_since(self, container_id: str, fetched_at: float) -> bool:
        with self._lock:
            refreshed = self._refreshed_at.get(container_id, 0.0)
            if refreshed <= fetched_at:
                self._refreshed_at.pop(container_id, None)
            return refreshed > fetched_at

    def _superseded(self, container_id: str, time_nano: int) -> bool:
        """Whether a state event later than `time_nano` was already applied on arrival: then
        what was fetched for the earlier events may predate it."""
        with self._lock:
            said = self._said_ns.get(container_id, 0)
            if said <= time_nano:
                self._said_ns.pop(container_id, None)
            return said > time_nano

    # --- targeted refreshes (also used by actions, from the view's thread) ---------------

    def refresh_container(self, container_id: str) -> None:
        """One container from the engine now (an action's result, from the view's thread).
        A batch whose fetch began earlier won't overwrite it with what it read before."""
        with self._lock:
            self._refreshed_at[container_id] = time.monotonic()
        summary = gateway.containers.get_summary(container_id, listed_only=True)
        if summary is None:
            self.model.drop_container(container_id)
        else:
            self.model.put_container(summary)

    def refresh_volume(self, name: str) -> None:
        try:
            self.model.put_volume(gateway.volumes.inspect_volume(name))
        except gateway.NotFound:
            self.model.drop_volume(name)

    def refresh_network(self, reference: str) -> None:
        try:
            self.model.put_network(gateway.networks.network_record(reference))
        except gateway.NotFound:
            self.model.drop_network(reference)

    def refresh_images(self) -> None:
        self.model.replace_images(gateway.images.list_images())


def _pump(stream, events: "queue.Queue", on_arrival) -> None:
    try:
        for event in stream:
            on_arrival(event)
            events.put(event)
    except Exception as exc:  # noqa: BLE001 - the stream broke: the watcher lists again
        log.info("engine events stream ended: %s", exc)
    finally:
        events.put(_END)
