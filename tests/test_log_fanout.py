"""Everyone following one container shares one engine log stream (containers/log_fanout.py).

Many log sockets on one container hold one followed engine stream and one reader thread,
closed a little after the last socket left. Each socket still gets its own tail and then the
live lines, meeting without a line twice or missing, however late it joins, with or without
timestamps and with or without a TTY. A socket too slow for the others is moved ahead (and
told so) while the others go on untouched.
"""

import asyncio
import json
import re
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from containers import container_follow, log_fanout
from dockerweb import gateway
from dockerweb.asgi import application
from tests.engine import wait_for

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
# Numbered lines in bursts, about 10,000 a second: plenty in flight whenever someone joins.
BURSTS = "i=1; while true; do seq $i $((i+99)); i=$((i+100)); sleep 0.01; done"
TICKS = "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.02; done"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")


@sync_to_async
def headers_for(username: str) -> list:
    user = User.objects.create_superuser(username, password=f"{username}-pw-12345")
    client = Client()
    client.force_login(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


class Reader:
    """One log socket: its control messages and lines, read as they come."""

    def __init__(self, path: str, headers: list):
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.controls: list[dict] = []
        self.events: list = []  # lines and control messages, in order
        self.lines: list[str] = []
        self._data = b""
        self._tty = None

    async def open(self) -> "Reader":
        connected, _ = await self.communicator.connect(timeout=10)
        assert connected
        return self

    async def read_until(self, done, *, timeout: float = 20, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what} (got {self.lines[-3:]})")
            output = await self.communicator.receive_output(timeout=left)
            if output.get("text"):
                message = json.loads(output["text"])
                self.controls.append(message)
                self.events.append(message)
                if message["type"] == "stream":
                    self._tty = not message["multiplexed"]
            elif output.get("bytes"):
                self._data += output["bytes"]
                self._split()

    def _split(self) -> None:
        if self._tty:
            text, _, rest = self._data.rpartition(b"\n")
            self._data = rest
            new = text.decode().replace("\r", "").split("\n") if text else []
        else:
            new, pos, payload = [], 0, b""
            while len(self._data) - pos >= 8:
                size = int.from_bytes(self._data[pos + 4 : pos + 8], "big")
                if pos + 8 + size > len(self._data):
                    break
                payload += self._data[pos + 8 : pos + 8 + size]
                pos += 8 + size
            self._data = self._data[pos:]
            new = payload.decode().splitlines()
        self.lines += new
        self.events += new

    async def close(self) -> None:
        await self.communicator.disconnect(timeout=10)


def numbers(lines: list[str]) -> list[int]:
    return [int(TIME.sub("", line).removeprefix("tick-")) for line in lines]


def assert_contiguous(lines: list[str], who: str) -> None:
    got = numbers(lines)
    breaks = [(a, b) for a, b in zip(got, got[1:], strict=False) if b != a + 1]
    assert not breaks, f"{who}: lines repeated or missing at {breaks[:5]}"


def reader_threads(container_id: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == f"logs-{container_id[:12]}"]


@pytest.fixture
def engine_streams(monkeypatch):
    """Every followed (shared) engine log stream the portal opens, in order."""
    opened = []
    real = gateway.logs.open_log_stream

    def spy(*args, **kwargs):
        stream = real(*args, **kwargs)
        if kwargs.get("follow", True):
            opened.append(stream)
        return stream

    monkeypatch.setattr(gateway.logs, "open_log_stream", spy)
    return opened


async def test_ten_followers_share_one_engine_stream_closed_after_the_last_left(
    make_container, engine_streams, monkeypatch
):
    monkeypatch.setattr(container_follow, "GRACE", 0.5)
    container = make_container(("sh", "-c", TICKS))
    cid = container["Id"]
    headers = await headers_for("many")
    readers = [
        await Reader(f"/engines/local/ws/containers/{cid}/logs/?tail=3", headers).open()
        for _ in range(10)
    ]
    for reader in readers:
        first = len(reader.lines)
        await reader.read_until(lambda r, n=first: len(r.lines) > n + 3, what="live ticks")
        assert_contiguous(reader.lines, "a follower")

    assert len(engine_streams) == 1
    assert len(reader_threads(cid)) == 1
    for reader in readers[:-1]:
        await reader.close()
    last = readers[-1]
    seen = len(last.lines)
    await last.read_until(lambda r: len(r.lines) > seen + 3, what="ticks for the last one")
    assert not engine_streams[0].closed, "the stream closed while someone still follows"

    await last.close()
    await asyncio.to_thread(
        wait_for, lambda: engine_streams[0].closed, timeout=5, message="the stream to close"
    )
    await asyncio.to_thread(
        wait_for, lambda: not reader_threads(cid), timeout=5, message="its thread to end"
    )
    assert cid not in log_fanout.registry()


@pytest.mark.parametrize("tty", [False, True], ids=["multiplexed", "tty"])
async def test_followers_joining_later_get_their_tail_then_live_lines_without_a_seam(
    make_container, engine_streams, tty
):
    container = make_container(("sh", "-c", BURSTS), tty=tty)
    cid = container["Id"]
    headers = await headers_for("joiner")
    readers = []
    for n in range(5):
        timestamps = n % 2  # with and without times, from the same shared stream
        reader = await Reader(
            f"/engines/local/ws/containers/{cid}/logs/?tail=200&timestamps={timestamps}", headers
        ).open()
        await reader.read_until(lambda r: len(r.lines) >= 1500, what=f"follower {n}'s lines")
        readers.append((reader, timestamps))
    for n, (reader, timestamps) in enumerate(readers):
        await reader.read_until(lambda r: len(r.lines) >= 3000, what=f"more for follower {n}")
        assert reader.controls[0]["type"] == "stream" and reader.controls[0]["tail"] == 200
        assert [c for c in reader.controls if c["type"] != "stream"] == []
        assert all(bool(TIME.match(line)) == bool(timestamps) for line in reader.lines), n
        assert_contiguous(reader.lines, f"follower {n} (timestamps={timestamps})")
        await reader.close()
    assert len(engine_streams) == 1


async def test_a_slow_follower_is_moved_ahead_and_told_while_the_fast_one_goes_on(
    make_container, settings, monkeypatch
):
    monkeypatch.setattr(log_fanout, "BUFFER_LIMIT", 64 * 1024)
    monkeypatch.setattr(log_fanout, "TAKE_LIMIT", 8 * 1024)
    container = make_container(("sh", "-c", BURSTS))
    path = f"/engines/local/ws/containers/{container['Id']}/logs/?tail=0"
    settings.STREAM_BYTES_PER_USER = 10_000  # alice's sockets: 10 kB a second together
    slow = await Reader(path, await headers_for("alice")).open()
    settings.STREAM_BYTES_PER_USER = 100_000_000
    fast = await Reader(path, await headers_for("bob")).open()

    await slow.read_until(
        lambda r: any(c["type"] == "skipped" for c in r.controls), what="the skipped notice"
    )
    skipped = next(c for c in slow.controls if c["type"] == "skipped")
    assert skipped["bytes"] > 0
    # The slow one goes on after the gap, with later lines and no seam inside each run.
    at = slow.events.index(skipped)
    before = [e for e in slow.events[:at] if isinstance(e, str)]
    await slow.read_until(lambda r: len(r.events) > at + 50, what="lines after the gap")
    after = [e for e in slow.events[at + 1 :] if isinstance(e, str)]
    assert_contiguous(before, "slow, before the gap")
    assert_contiguous(after, "slow, after the gap")
    assert numbers(after)[0] > numbers(before)[-1] + 1

    await fast.read_until(lambda r: len(r.lines) > 20_000, what="the fast one's lines")
    assert [c["type"] for c in fast.controls] == ["stream"]
    assert_contiguous(fast.lines, "fast")
    await slow.close()
    await fast.close()


async def test_a_restarted_container_goes_on_with_its_new_lines_only(
    make_container, docker_api, engine_streams
):
    script = "echo run-$(cat /proc/sys/kernel/random/uuid); trap 'exit 0' TERM; sleep 3600 & wait"
    container = make_container(("sh", "-c", script))
    cid = container["Id"]
    reader = await Reader(
        f"/engines/local/ws/containers/{cid}/logs/?tail=100", await headers_for("r")
    ).open()
    await reader.read_until(lambda r: len(r.lines) == 1, what="the first run's line")

    await asyncio.to_thread(docker_api.stop, cid, timeout=5)
    await reader.read_until(
        lambda r: r.controls[-1].get("state") == "stopped", what="the stopped state"
    )
    await asyncio.to_thread(docker_api.start, cid)
    await reader.read_until(lambda r: len(r.lines) == 2, what="the second run's line")
    assert [c.get("state", c["type"]) for c in reader.controls] == ["stream", "stopped", "stream"]
    assert reader.lines[0] != reader.lines[1]
    assert all(line.startswith("run-") for line in reader.lines)
    # Nothing else comes: the first run's line is not sent again.
    assert await reader.communicator.receive_nothing(timeout=1)
    assert len(engine_streams) == 2 and engine_streams[0].closed
    await reader.close()
