"""The live-state socket: engine events reach subscribed pages, and late subscribers catch up."""

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from dockerweb.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def _session_cookie(django_user_model) -> bytes:
    user = django_user_model.objects.create_superuser("live-admin", password="pw-live-123")
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(django_user_model, path: str) -> WebsocketCommunicator:
    cookie = await _session_cookie(django_user_model)
    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _receive_until(communicator, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = await communicator.receive_json_from(timeout=left)
        if predicate(message):
            return message
    raise AssertionError("no matching message in time")


async def test_a_container_started_with_the_cli_reaches_the_socket_with_its_sidebar_html(
    django_user_model, make_container
):
    communicator = await _connect(django_user_model, "/ws/live/")
    try:
        await _receive_until(communicator, lambda m: m["type"] == "engine" and m["up"], 5)
        created = await sync_to_async(make_container)()
        message = await _receive_until(
            communicator,
            lambda m: m.get("id") == created["Id"] and m.get("state") == "running",
            timeout=2,
        )
        assert created["Name"].lstrip("/") in message["sidebar"]
        assert f'<tr data-container-id="{created["Id"]}"' in message["row"]
    finally:
        await communicator.disconnect()


async def test_a_change_between_render_and_subscribe_asks_the_page_to_resync(
    django_user_model, make_container
):
    rendered_at = time.time() - 0.5
    await sync_to_async(make_container)(start=False)  # happens "after" the page was rendered
    communicator = await _connect(django_user_model, f"/ws/live/?since={rendered_at:.3f}")
    try:
        message = await _receive_until(communicator, lambda m: m["type"] == "resync", timeout=5)
        assert message == {"type": "resync"}
    finally:
        await communicator.disconnect()


async def test_nothing_changed_since_render_means_no_resync(django_user_model):
    communicator = await _connect(django_user_model, f"/ws/live/?since={time.time():.3f}")
    try:
        await _receive_until(communicator, lambda m: m["type"] == "engine", 5)
        # receive_nothing (unlike a timed-out receive) leaves the consumer running.
        while not await communicator.receive_nothing(timeout=1):
            assert (await communicator.receive_json_from())["type"] != "resync"
    finally:
        await communicator.disconnect()
