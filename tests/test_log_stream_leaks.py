"""Opening and closing a container's log socket, again and again, leaves nothing behind.

Each log socket reads its tail in a thread of its own (logs-tail-<id>) and shares its
container's followed engine stream, read in one thread (logs-<id>) that stays a few seconds
after the last socket left; the first socket of a loop starts the engine-events watcher
(another stream and thread). Closing the sockets must close them all: after hundreds of
open/close rounds the process has exactly the threads and file descriptors it had before.
"""

import asyncio
import gc
import os
import threading
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from dockerweb import engines, gateway
from dockerweb.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 200
FD_SLACK = 6
CHATTY = ("sh", "-c", "i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.01; done")
# Says a little, then nothing: its reader thread sits blocked on the engine socket, and only
# closing the stream can wake it.
QUIET = ("sh", "-c", "echo line-1; echo line-2; exec sleep 3600")
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


@pytest.fixture
def headers():
    user = User.objects.create_superuser("leak-watcher", password="leak-watcher-pw-1")
    client = Client()
    client.force_login(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def eventually(condition, *, timeout: float, message: str):
    """Poll `condition()` without blocking the loop (the threads it waits for post to it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(0.05)


def stream_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("logs-", "engine-events"))]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def open_close_at_once(path: str, headers) -> None:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.disconnect(timeout=10)


async def open_read_close(path: str, headers) -> None:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    # The control frame, then the first bytes of the log.
    assert (await communicator.receive_output(timeout=10))["text"].startswith('{"type": "stream"')
    first = await communicator.receive_output(timeout=10)
    assert b"line-" in first["bytes"]
    await communicator.disconnect(timeout=10)


async def fill_default_executor() -> None:
    """Start every worker thread of the loop's default executor now.

    `asyncio.to_thread` (inspect, opening streams) uses the loop's default executor, which
    starts a worker only when none is idle, up to min(32, cpus + 4), and keeps them. How
    many exist depends on how calls happened to overlap, so a baseline taken before it is
    full could grow later without any leak. Blocking max_workers calls at once fills it.
    """
    workers = min(32, (os.cpu_count() or 1) + 4)
    barrier = threading.Barrier(workers)
    await asyncio.gather(*(asyncio.to_thread(barrier.wait, 10) for _ in range(workers)))


def fds_without_idle_engine_connections() -> int:
    # The gateway's pool keeps idle keep-alive connections to the engine, as many as calls
    # once overlapped: that number drifts and is no leak. Dropping the pool closes only
    # those idle ones; a stream that was never closed keeps its socket and still counts.
    gateway.reset()
    # The live model's own connection keeps its events stream: only its idle ones go.
    engines.current().model_connection.drop_idle()
    return open_fds()


async def baseline(path: str, headers) -> tuple[int, int]:
    """(threads, fds) once everything that stays for the life of the process is started."""
    await fill_default_executor()
    # The live model lives as long as the process: its first listing (seconds on a busy
    # engine) and its events stream belong to the baseline, not to the sockets under test.
    await asyncio.to_thread(engines.current().live)
    for _ in range(3):  # warm-up: the DB thread, the channel layer, the client, the watcher
        await open_read_close(path, headers)
    await eventually(lambda: not stream_threads(), timeout=10, message="warm-up streams to end")
    # Sockets of earlier tests (HTTP sessions, websocket clients) left in reference cycles
    # close whenever the collector runs: collect now, or they vanish mid-test from the count.
    gc.collect()
    return threading.active_count(), fds_without_idle_engine_connections()


async def assert_back_to(threads_before: int, fds_before: int) -> None:
    await eventually(
        lambda: threading.active_count() == threads_before,
        timeout=10,
        message=f"threads back to {threads_before} (still: {stream_threads()})",
    )
    # A few descriptors of slack: the live model's own engine connection (process-wide)
    # may be mid-call for another test's events while we count. A leak per socket shows
    # as hundreds after ROUNDS rounds; threads are counted exactly above.
    await eventually(
        lambda: fds_without_idle_engine_connections() <= fds_before + FD_SLACK,
        timeout=10,
        message=f"open fds back to {fds_before} (now {open_fds()})",
    )


async def test_log_socket_open_read_close_rounds_leave_no_thread_or_fd(make_container, headers):
    container = make_container(CHATTY)
    path = f"/engines/local/ws/containers/{container['Id']}/logs/?tail=5"
    threads_before, fds_before = await baseline(path, headers)
    started = time.monotonic()
    for _ in range(ROUNDS):
        await open_read_close(path, headers)
    assert time.monotonic() - started < 45, "open/close rounds are unexpectedly slow"
    await assert_back_to(threads_before, fds_before)


async def test_log_sockets_closed_while_still_opening_leave_no_thread_or_fd(
    make_container, headers
):
    # Closed at once, the consumer is cancelled wherever it is: inspecting the container,
    # opening the engine stream, announcing it, or relaying.
    container = make_container(CHATTY)
    path = f"/engines/local/ws/containers/{container['Id']}/logs/?tail=5"
    threads_before, fds_before = await baseline(path, headers)
    for _ in range(ROUNDS):
        await open_close_at_once(path, headers)
    await assert_back_to(threads_before, fds_before)


async def test_closing_the_log_socket_of_a_quiet_container_ends_its_stream_reader(
    make_container, headers
):
    container = make_container(QUIET)
    reader = f"logs-{container['Id'][:12]}"
    communicator = WebsocketCommunicator(
        application, f"/engines/local/ws/containers/{container['Id']}/logs/?tail=5", headers=headers
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.receive_output(timeout=10)  # {"type": "stream", ...}
    assert b"line-" in (await communicator.receive_output(timeout=10))["bytes"]
    # The shared stream opens beside the tail read, not before it.
    await eventually(
        lambda: reader in stream_threads(), timeout=5, message=f"thread {reader} to start"
    )

    await communicator.disconnect(timeout=10)
    await eventually(  # GRACE seconds after the last socket left
        lambda: reader not in stream_threads(), timeout=5, message=f"thread {reader} to end"
    )
    await eventually(
        lambda: "engine-events" not in stream_threads(),
        timeout=5,
        message="the events watcher to stop with its last socket",
    )
