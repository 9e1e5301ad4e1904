"""Notices of portal actions ("alice stopped web"): the action views announce what their user
did, once the engine answered, to the container list group only (the live socket joins it
only with the permission to list containers); a refused action announces nothing; stop
waits the container's own grace period."""

import pytest

from containers import views
from dockerweb import notices
from dockerweb.consumers import LIST_PERMISSIONS
from dockerweb.groups import list_group
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


class RecordingLayer:
    """Stands in for the channel layer: what was sent to which group."""

    def __init__(self):
        self.sent = []

    async def group_send(self, group, message):
        self.sent.append((group, message["payload"]))


@pytest.fixture
def layer(monkeypatch):
    recording = RecordingLayer()
    monkeypatch.setattr(notices, "get_channel_layer", lambda: recording)
    return recording


@pytest.fixture
def alice():
    return client_for(
        make_user(
            "alice",
            "containers.view_container",
            "containers.operate_container",
            "containers.remove_container",
        )
    )


def notices_sent(layer):
    return [(group, p) for group, p in layer.sent if p["type"] == "notice"]


def test_a_stop_is_announced_to_those_who_may_list_containers(alice, layer, make_container):
    container = make_container(("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"))
    name = container["Name"].lstrip("/")
    response = alice.post(f"/engines/local/containers/{container['Id']}/stop/")
    assert response.status_code == 302
    assert notices_sent(layer) == [
        (
            list_group("container"),
            {
                "type": "notice",
                "user": "alice",
                "action": "stop",
                "kind": "container",
                "id": container["Id"],
                "text": f"alice stopped {name}",
            },
        )
    ]
    # The group a live socket joins only with the container view permission.
    assert LIST_PERMISSIONS["container"] == "containers.view_container"


def test_an_action_the_engine_refused_is_not_announced(alice, layer, make_container):
    container = make_container(start=False)
    alice.post(
        f"/engines/local/containers/{container['Id']}/pause/"
    )  # not running: the engine says no
    assert notices_sent(layer) == []


def test_a_removal_is_announced_with_the_name_it_had(alice, layer, make_container):
    container = make_container()
    name = container["Name"].lstrip("/")
    alice.post(f"/engines/local/containers/{container['Id']}/remove/")
    assert [p["text"] for _, p in notices_sent(layer)] == [f"alice removed {name}"]


def test_stop_waits_the_containers_own_grace_period(alice, make_container, monkeypatch):
    asked = []
    real_stop, done = views.ACTIONS["stop"]

    def stop(container_id, **kwargs):
        asked.append(kwargs)
        return real_stop(container_id, **kwargs)

    monkeypatch.setitem(views.ACTIONS, "stop", (stop, done))
    container = make_container(
        ("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"), stop_timeout=7
    )
    page = alice.get(f"/engines/local/containers/{container['Id']}/")
    assert "the container has up to 7 s to exit before it is killed" in page.content.decode()
    alice.post(f"/engines/local/containers/{container['Id']}/stop/")
    assert asked == [{"timeout": 7}]


def test_a_notice_that_cannot_be_sent_never_fails_the_action(alice, monkeypatch, make_container):
    class BrokenLayer:
        async def group_send(self, group, message):
            raise OSError("the channel layer is gone")

    monkeypatch.setattr(notices, "get_channel_layer", BrokenLayer)
    container = make_container(("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"))
    response = alice.post(f"/engines/local/containers/{container['Id']}/stop/", follow=True)
    assert b"Stopped" in response.content
