"""What a container costs: the engine's stats, read into plain samples.

Two ways in:
- `open_stats_stream(id)`: the engine's endless stream (one document a second), closable
  from any thread — the Stats tab's fan-out reads one per container however many watch.
- `sample_once(id)`: one document (`stream=false`): the engine waits one collection cycle
  (about a second) so that CPU % can be computed; callers sampling many containers do so
  in parallel and bounded.

`sample_of(document)` is pure: the engine's JSON stays in this package, callers get a
`StatsSample` whose rates (network and block I/O per second) are computed against the
previous sample by `rates(previous, current)`.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from . import raw_http
from .client import api, translate_errors
from .responses import ClosableResponse
from .types import parse_engine_time


@dataclass(frozen=True)
class StatsSample:
    """One stats document, read. Byte counters are totals since the container started."""

    read_at: datetime | None
    cpu_percent: float | None  # of one CPU × online CPUs (docker stats' figure); None: unknown
    online_cpus: int
    memory_used: int  # usage minus page cache (docker stats' figure)
    memory_limit: int
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int

    @property
    def memory_percent(self) -> float | None:
        return 100.0 * self.memory_used / self.memory_limit if self.memory_limit else None


@dataclass(frozen=True)
class Rates:
    """Per-second rates between two samples of one container."""

    net_rx: float
    net_tx: float
    block_read: float
    block_write: float


def _cpu_percent(doc: dict) -> tuple[float | None, int]:
    cpu, pre = doc.get("cpu_stats") or {}, doc.get("precpu_stats") or {}
    online = (
        cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1
    )
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    except (KeyError, TypeError):
        return None, online  # the first document of a stream has no previous reading
    if system_delta <= 0 or cpu_delta < 0:
        return None, online
    return cpu_delta / system_delta * online * 100.0, online


def _memory_used(memory: dict) -> int:
    usage = memory.get("usage") or 0
    stats = memory.get("stats") or {}
    # cgroup v1 reports page cache as total_inactive_file, v2 as inactive_file.
    cache = stats.get("total_inactive_file", stats.get("inactive_file", 0)) or 0
    return max(usage - cache, 0) if cache < usage else usage


def _block_bytes(doc: dict) -> tuple[int, int]:
    read = write = 0
    for entry in (doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = (entry.get("op") or "").lower()
        if op == "read":
            read += entry.get("value") or 0
        elif op == "write":
            write += entry.get("value") or 0
    return read, write


def sample_of(doc: dict) -> StatsSample:
    """The sample one stats document describes (pure)."""
    cpu_percent, online = _cpu_percent(doc)
    memory = doc.get("memory_stats") or {}
    networks = (doc.get("networks") or {}).values()
    block_read, block_write = _block_bytes(doc)
    return StatsSample(
        read_at=parse_engine_time(doc.get("read") or ""),
        cpu_percent=cpu_percent,
        online_cpus=online,
        memory_used=_memory_used(memory),
        memory_limit=memory.get("limit") or 0,
        net_rx=sum(n.get("rx_bytes") or 0 for n in networks),
        net_tx=sum(n.get("tx_bytes") or 0 for n in networks),
        block_read=block_read,
        block_write=block_write,
        pids=(doc.get("pids_stats") or {}).get("current") or 0,
    )


def rates(previous: StatsSample | None, current: StatsSample) -> Rates | None:
    """Per-second rates from `previous` to `current`, or None without two timed samples.
    A counter that went down (the container restarted) counts from zero."""
    if previous is None or previous.read_at is None or current.read_at is None:
        return None
    seconds = (current.read_at - previous.read_at).total_seconds()
    if seconds <= 0:
        return None

    def per_second(now: int, before: int) -> float:
        return (now - before if now >= before else now) / seconds

    return Rates(
        net_rx=per_second(current.net_rx, previous.net_rx),
        net_tx=per_second(current.net_tx, previous.net_tx),
        block_read=per_second(current.block_read, previous.block_read),
        block_write=per_second(current.block_write, previous.block_write),
    )


class StatsStream(ClosableResponse):
    """An open GET /containers/{id}/stats?stream=1. Iterate `samples()` in one thread; call
    `close()` from any other to end the iteration at once."""

    def samples(self) -> Iterator[StatsSample]:
        """Samples as the engine sends them (about one a second) until the stream ends:
        the container stopped or was removed, the engine went away, or close()."""
        pending = b""
        try:
            for piece in self.pieces():
                pending += piece
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield sample_of(json.loads(line))
        except (ValueError, AttributeError):
            return  # not a stats document: the engine said something else, end here
        finally:
            self.close()


def open_stats_stream(container_id: str) -> StatsStream:
    """Raises NotFound, EngineUnavailable, EngineError."""
    with translate_errors():
        response = raw_http.get(
            api(),
            "/containers/{0}/stats",
            container_id,
            params={"stream": "1"},
            stream=True,
            timeout=None,  # one document a second, forever: no read timeout
        )
    return StatsStream(response)


def sample_once(container_id: str) -> StatsSample:
    """One sample, CPU % included (the engine takes about a second to measure it).
    Raises NotFound, EngineUnavailable, EngineError."""
    with translate_errors():
        doc = api().stats(container_id, stream=False)
    return sample_of(doc)
