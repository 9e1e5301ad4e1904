"""Turning the engine's pull/push messages into progress snapshots for the browser.

The engine sends many messages per layer per second; the job reporter sends at most a few
snapshots a second, each the full state: what every layer is doing and an overall figure.
"""

from dockerweb.gateway.images import ProgressEvent

DONE_STATUSES = {
    "Pull complete",
    "Already exists",
    "Pushed",
    "Layer already exists",
    "Mounted from",
    "Download complete",
}


class LayerProgress:
    def __init__(self):
        self.layers: dict[str, dict] = {}
        self.order: list[str] = []
        self.status = ""
        self.finished = False

    def feed(self, event: ProgressEvent) -> None:
        # Messages without a layer id are the overall status ("Digest: …", "Status: …").
        if not event.id or event.status.startswith(("Pulling from", "The push refers")):
            self.status = f"{event.status} {event.id}".strip() if event.id else event.status
            return
        layer = self.layers.get(event.id)
        if layer is None:
            layer = self.layers[event.id] = {"status": "", "current": 0, "total": 0, "percent": 0}
            self.order.append(event.id)
        layer["status"] = event.status
        if event.total:
            layer["total"] = event.total
            layer["current"] = min(event.current or 0, event.total)
        done = event.status in DONE_STATUSES or event.status.startswith("Mounted from")
        if done and event.status != "Download complete":
            layer["percent"] = 100
        elif layer["total"]:
            # Downloading is the first half of a pull layer's bar, extracting the second.
            fraction = layer["current"] / layer["total"]
            if event.status == "Extracting":
                layer["percent"] = 50 + int(fraction * 50)
            elif event.status in ("Downloading", "Pushing"):
                scale = 50 if event.status == "Downloading" else 100
                layer["percent"] = int(fraction * scale)
        elif event.status == "Download complete":
            layer["percent"] = max(layer["percent"], 50)

    def finish(self) -> None:
        self.finished = True  # also when there was nothing to fetch ("Image is up to date")
        for layer in self.layers.values():
            layer["percent"] = 100

    def snapshot(self) -> dict:
        percents = [layer["percent"] for layer in self.layers.values()]
        overall = round(sum(percents) / len(percents)) if percents else 0
        if self.finished:
            overall = 100
        return {
            "layers": {k: dict(v) for k, v in self.layers.items()},
            "order": list(self.order),
            "status": self.status,
            "overall": {"percent": overall},
        }
