"""The one door to the Docker engine.

Only this package imports `docker`. Callers get plain dataclasses and the errors in
`errors.py`, never the engine's JSON (the inspect documents' `.raw` is for the Inspect tabs
alone); every public function's docstring names what it raises. docker-py's private
helpers are used in `raw_http.py` alone (tests/test_gateway_boundaries.py).
"""

from . import (
    containers,
    disk_usage,
    events,
    exec,
    images,
    logs,
    networks,
    processes,
    recreate,
    stats,
    swarm,
    system,
    volume_files,
    volumes,
)
from .client import engine_address, reset
from .errors import (
    Conflict,
    EngineError,
    EngineUnavailable,
    GatewayError,
    InvalidRequest,
    NotFound,
)

__all__ = [
    "Conflict",
    "EngineError",
    "EngineUnavailable",
    "GatewayError",
    "InvalidRequest",
    "NotFound",
    "containers",
    "disk_usage",
    "engine_address",
    "events",
    "exec",
    "images",
    "logs",
    "networks",
    "processes",
    "recreate",
    "reset",
    "stats",
    "swarm",
    "system",
    "volume_files",
    "volumes",
]
