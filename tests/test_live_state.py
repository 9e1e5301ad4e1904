"""The live-state socket: engine events reach subscribed pages, and late subscribers catch up."""

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from dockerweb.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.engine]


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


async def test_a_page_showing_a_container_gets_its_patch_and_others_only_a_list_line(
    django_user_model, make_container, docker_api
):
    communicator = await _connect(django_user_model, "/engines/local/ws/live/")
    try:
        await _receive_until(communicator, lambda m: m["type"] == "engine" and m["up"], 5)
        created = await sync_to_async(make_container)(start=False)
        # Not on the page yet: a short line for the list (the page fetches its window), no HTML.
        line = await _receive_until(
            communicator,
            lambda m: m["type"] == "list" and any(c["id"] == created["Id"] for c in m["changes"]),
            timeout=5,
        )
        assert line["kind"] == "container"
        assert "sidebar" not in str(line) and line["counts"]["all"] >= 1
        # Now the page shows it: the socket watches it and gets its patches.
        await communicator.send_json_to({"watch": [created["Id"]]})
        await communicator.receive_nothing(timeout=0.2)
        await sync_to_async(docker_api.start)(created["Id"])
        message = await _receive_until(
            communicator,
            lambda m: (
                m.get("type") == "container"
                and m.get("id") == created["Id"]
                and m.get("state") == "running"
            ),
            timeout=5,
        )
        assert created["Name"].lstrip("/") in message["sidebar"]
        assert f'<tr data-container-id="{created["Id"]}"' in message["row"]
    finally:
        await communicator.disconnect()


async def test_an_unwatched_container_never_sends_its_html(
    django_user_model, make_container, docker_api
):
    created = await sync_to_async(make_container)(start=False)
    communicator = await _connect(django_user_model, "/engines/local/ws/live/")
    try:
        await _receive_until(communicator, lambda m: m["type"] == "engine", 5)
        await sync_to_async(docker_api.start)(created["Id"])
        line = await _receive_until(
            communicator,
            lambda m: (
                m["type"] == "list"
                and any(c["id"] == created["Id"] and c["state"] == "running" for c in m["changes"])
            ),
            timeout=5,
        )
        assert line["kind"] == "container"
        while not await communicator.receive_nothing(timeout=0.5):
            message = await communicator.receive_json_from()
            assert message.get("type") != "container", message
    finally:
        await communicator.disconnect()


def _model_version() -> int:
    from dockerweb import engines

    return engines.current().live().version


async def test_a_change_between_render_and_subscribe_asks_the_page_to_resync(
    django_user_model, make_container
):
    rendered = await sync_to_async(_model_version)()
    await sync_to_async(make_container)(start=False)  # happens after the page was rendered
    communicator = await _connect(django_user_model, f"/engines/local/ws/live/?v={rendered}")
    try:
        message = await _receive_until(communicator, lambda m: m["type"] == "resync", timeout=5)
        assert message == {"type": "resync"}
    finally:
        await communicator.disconnect()


async def test_a_resync_is_asked_only_when_the_model_changed_since_render(django_user_model):
    # The engine is shared (other runs create containers meanwhile): a resync may come, but
    # only if the model really moved on from the version the page was rendered from.
    version = await sync_to_async(_model_version)()
    communicator = await _connect(django_user_model, f"/engines/local/ws/live/?v={version}")
    try:
        await _receive_until(communicator, lambda m: m["type"] == "engine", 5)
        # receive_nothing (unlike a timed-out receive) leaves the consumer running.
        while not await communicator.receive_nothing(timeout=1):
            if (await communicator.receive_json_from())["type"] == "resync":
                assert await sync_to_async(_model_version)() > version
    finally:
        await communicator.disconnect()
