"""Streaming websockets are capped per user and per process, and a log tail is bounded.

One person's tabs must not take every thread, engine connection and byte of bandwidth the
portal has: the 17th streaming socket (logs or job output) of a user is told why and closed,
while other users still get theirs; a slot comes back however a socket ends, the client
vanishing without a close included. `tail=all` (or a huge number) sends at most what a tab
keeps; the Download link has the whole log.
"""

import contextlib
import json
import socket

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from dockerweb.asgi import application
from jobs.models import Job
from tests.conftest import start_portal, stop_portal
from tests.engine import wait_for

ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
PERMISSIONS = ("containers.view_container", "jobs.view_job")
QUIET = ("sh", "-c", "echo ready; exec sleep 3600")
PER_USER = 16
TOO_MANY = 4429


def make_viewer(username: str) -> list:
    """A user who may watch logs and jobs; the headers of their logged-in websockets."""
    user = User.objects.create_user(username, password="stream-limits-pw-1")
    for permission in PERMISSIONS:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def viewer(username: str) -> list:
    from asgiref.sync import sync_to_async

    return await sync_to_async(make_viewer)(username)


class Sockets:
    """Every communicator a test opened, disconnected at the end whatever happened."""

    def __init__(self):
        self.open: list[WebsocketCommunicator] = []

    async def connect(self, path: str, headers: list) -> tuple[WebsocketCommunicator, dict]:
        """Open a socket; (communicator, its first text message decoded)."""
        communicator = WebsocketCommunicator(application, path, headers=headers)
        self.open.append(communicator)
        connected, _ = await communicator.connect(timeout=10)
        assert connected, f"{path} was refused at the handshake"
        first = await communicator.receive_output(timeout=10)
        return communicator, json.loads(first["text"])

    async def streaming(self, path: str, headers: list) -> WebsocketCommunicator:
        communicator, first = await self.connect(path, headers)
        assert first.get("type") in ("stream", "job"), first
        return communicator

    async def refused(self, path: str, headers: list) -> dict:
        """Open a socket that must be turned away: the reason it gave (then it closed)."""
        communicator, first = await self.connect(path, headers)
        assert first.get("state") == "too-many-streams", first
        closed = await communicator.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": TOO_MANY}, closed
        return first

    async def close(self, communicator: WebsocketCommunicator) -> None:
        await communicator.disconnect(timeout=10)
        self.open.remove(communicator)

    async def close_all(self) -> None:
        for communicator in list(self.open):
            try:
                await communicator.disconnect(timeout=10)
            except Exception:  # noqa: BLE001, S110 - already ended
                pass
        self.open.clear()


@pytest.fixture
async def sockets():
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture
def logs_path(make_container):
    container = make_container(QUIET)
    return f"/engines/local/ws/containers/{container['Id']}/logs/?tail=5"


@pytest.fixture
def job_path(django_db_blocker):
    with django_db_blocker.unblock():
        job = Job.objects.create(kind="pull", title="Pull x", started_by_name="t")
    return f"/engines/local/ws/jobs/{job.pk}/"


# -- per user -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_17th_log_socket_of_a_user_is_told_why_while_another_user_gets_one(
    sockets, logs_path
):
    alice, bob = await viewer("alice"), await viewer("bob")
    for _ in range(PER_USER):
        await sockets.streaming(logs_path, alice)

    refusal = await sockets.refused(logs_path, alice)
    assert "16 live streams" in refusal["reason"], refusal

    await sockets.streaming(logs_path, bob)


@pytest.mark.django_db(transaction=True)
async def test_closing_a_log_socket_frees_its_slot(sockets, logs_path):
    alice = await viewer("alice")
    held = [await sockets.streaming(logs_path, alice) for _ in range(PER_USER)]
    await sockets.refused(logs_path, alice)

    await sockets.close(held[0])
    await sockets.streaming(logs_path, alice)
    await sockets.refused(logs_path, alice)


@pytest.mark.django_db(transaction=True)
async def test_job_output_sockets_count_towards_the_same_cap(sockets, logs_path, job_path):
    alice = await viewer("alice")
    for _ in range(PER_USER - 1):
        await sockets.streaming(logs_path, alice)
    job = await sockets.streaming(job_path, alice)

    await sockets.refused(logs_path, alice)
    await sockets.refused(job_path, alice)

    await sockets.close(job)
    await sockets.streaming(logs_path, alice)


# -- per process ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_process_cap_holds_across_users(sockets, logs_path, job_path, settings):
    settings.STREAMS_PER_PROCESS = 3
    alice, bob, carol = await viewer("alice"), await viewer("bob"), await viewer("carol")
    await sockets.streaming(logs_path, alice)
    await sockets.streaming(job_path, alice)
    held = await sockets.streaming(logs_path, bob)

    refusal = await sockets.refused(logs_path, carol)
    assert "3 live streams" in refusal["reason"] and "portal" in refusal["reason"], refusal

    await sockets.close(held)
    await sockets.streaming(logs_path, carol)


# -- the tail -------------------------------------------------------------------------------


def demux_lines(data: bytes) -> list[str]:
    """Docker's multiplexed log stream ([stream, 0, 0, 0, size] + payload) → lines."""
    text, pos = bytearray(), 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        text += data[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return text.decode().splitlines()


async def received_lines(communicator: WebsocketCommunicator, last: str) -> list[str]:
    """Lines received until the line `last` arrives."""
    data = b""
    while True:
        output = await communicator.receive_output(timeout=10)
        data += output.get("bytes") or b""
        lines = demux_lines(data)
        if lines and lines[-1] == last:
            return lines


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tail", ["all", "999999", "101", "9" * 5000])
async def test_a_tail_longer_than_a_tab_keeps_sends_only_the_last_lines(
    sockets, make_container, docker_api, settings, tail
):
    settings.LOG_LINES_KEPT = 100
    container = make_container(("sh", "-c", "seq 1 500; exec sleep 3600"))
    wait_for(lambda: docker_api.logs(container["Id"], tail=1) == b"500\n", message="500 lines")
    alice = await viewer("alice")

    communicator, first = await sockets.connect(
        f"/engines/local/ws/containers/{container['Id']}/logs/?tail={tail}", alice
    )
    assert first["type"] == "stream" and first["tail"] == 100 and first["capped"], first
    lines = await received_lines(communicator, "500")
    assert lines == [str(n) for n in range(401, 501)]


@pytest.mark.django_db(transaction=True)
async def test_a_tail_within_the_bound_is_sent_whole(sockets, make_container, docker_api, settings):
    settings.LOG_LINES_KEPT = 100
    container = make_container(("sh", "-c", "seq 1 500; exec sleep 3600"))
    wait_for(lambda: docker_api.logs(container["Id"], tail=1) == b"500\n", message="500 lines")
    alice = await viewer("alice")

    communicator, first = await sockets.connect(
        f"/engines/local/ws/containers/{container['Id']}/logs/?tail=40", alice
    )
    assert first["tail"] == 40 and not first["capped"], first
    assert await received_lines(communicator, "500") == [str(n) for n in range(461, 501)]


# -- a client that vanishes, on the real server ---------------------------------------------


def first_message(ws) -> dict:
    return json.loads(ws.recv(timeout=10))


def test_a_client_that_vanishes_without_a_close_gives_its_slot_back(tmp_path, make_container):
    portal, process = start_portal(tmp_path, {"DOCKERWEB_STREAMS_PER_USER": "2"})
    try:
        portal.create_user("alice", "stream-limits-pw-1", PERMISSIONS)
        http = portal.session("alice", "stream-limits-pw-1")
        container = make_container(QUIET)
        url = (
            portal.url.replace("http://", "ws://")
            + f"/engines/local/ws/containers/{container['Id']}/logs/"
        )
        headers = {"Cookie": f"sessionid={http.cookies['sessionid']}", "Origin": portal.url}

        def open_socket():
            return connect(url, additional_headers=headers, proxy=None, open_timeout=10)

        with contextlib.ExitStack() as held:
            tabs = [held.enter_context(open_socket()) for _ in range(2)]
            for ws in tabs:
                assert first_message(ws)["type"] == "stream"
            with open_socket() as extra:
                refusal = first_message(extra)
                assert refusal["state"] == "too-many-streams", refusal
                with pytest.raises(ConnectionClosed) as closed:
                    extra.recv(timeout=10)
                assert closed.value.rcvd.code == TOO_MANY

            # A tab crashes: its TCP connection ends without a websocket close.
            tabs[1].socket.shutdown(socket.SHUT_RDWR)

            def slot_back():
                with open_socket() as ws:
                    return first_message(ws)["type"] == "stream"

            wait_for(slot_back, timeout=15, interval=0.2, message="the vanished client's slot")
    finally:
        stop_portal(process)
