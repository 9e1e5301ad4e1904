"""Swarm: the gateway, pages, policy and permissions on a swarm manager of this session's
own (tests/extra_dockerd.py, never the shared main engine).

The portal is pointed at it with DOCKER_HOST; engine state is checked through the test's
own client of that engine. Services made here carry TEST_LABELS and are removed after.
"""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEntry
from dockerweb.asgi import application
from dockerweb.host_access.config import host_access
from dockerweb.host_access.services import container_body
from roles.definitions import ROLES, install_roles
from tests import engine as eng
from tests.pages import text
from tests.users import client_for, make_user

LABEL_LINES = "\n".join(f"{key}={value}" for key, value in eng.TEST_LABELS.items())
# A line every 0.2 s; it ends at once when the swarm stops its task (no 10 s grace period).
TICKER = "sh -c 'trap \"exit 0\" TERM; while true; do echo tick-$(hostname); sleep 0.2; done'"
SWARM = "/engines/swarm/swarm"
SAME_ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]


@pytest.fixture
def roles(db):
    from django.apps import apps

    install_roles(apps, ROLES)  # a transactional test elsewhere may have flushed them


def _new(client: Client, name: str, **extra):
    data = {
        "image": eng.TEST_IMAGE,
        "name": name,
        "replicas": "2",
        "command": TICKER,
        "labels": LABEL_LINES,
        **extra,
    }
    return client.post(f"{SWARM}/services/new/", data)


def _named(engine, name: str) -> list[dict]:
    return [s for s in engine.services(filters={"name": name}) if s["Spec"]["Name"] == name]


def _running(engine, service_id: str) -> list[dict]:
    tasks = engine.tasks(filters={"service": service_id, "desired-state": "running"})
    return [t for t in tasks if t["Status"]["State"] == "running"]


def _wait_running(engine, service_id: str, count: int) -> None:
    def states():
        tasks = engine.tasks(filters={"service": service_id})
        return [(t["Status"]["State"], t["Status"].get("Err", "")) for t in tasks]

    try:
        eng.wait_for(lambda: len(_running(engine, service_id)) == count, timeout=60)
    except AssertionError:
        raise AssertionError(f"not {count} running tasks: {states()}") from None


def _audited(since: int) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(id__gt=since)
        .order_by("id")
        .values_list("action", "target_name", "outcome")
    )


def _last_entry() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


# -- the policy's view of a service (no engine) ------------------------------------------------


def test_a_services_container_spec_is_judged_as_the_container_its_tasks_run():
    spec = {
        "Name": "x",
        "Labels": {"dockerweb.helper": "forged"},
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "busybox",
                "Mounts": [{"Type": "bind", "Source": "/", "Target": "/host"}],
                "CapabilityAdd": ["SYS_ADMIN"],
                "Sysctls": {"net.ipv4.ip_forward": "1"},
            },
            "Networks": [{"Target": "host"}],
        },
    }
    body, problems = container_body(spec)
    assert problems == []
    assert body["Labels"] == {"dockerweb.helper": "forged"}
    found = " | ".join(f.what for f in host_access(body, {}))
    for what in ("host path / at /host", "SYS_ADMIN", "net.ipv4.ip_forward", "host's network"):
        assert what in found, found
    # A field the mapping doesn't know is refused, never passed through unjudged.
    spec["TaskTemplate"]["ContainerSpec"]["SomethingNew"] = True
    spec["TaskTemplate"]["PluginSpec"] = {}
    _, problems = container_body(spec)
    assert [p.message.split(",")[0] for p in problems] == [
        "The service sets TaskTemplate.PluginSpec",
        "The service sets SomethingNew",
    ]


# -- pages on an engine that is no swarm manager -----------------------------------------------


@pytest.mark.django_db
def test_an_engine_that_is_no_swarm_manager_says_so(admin_client, docker_api):
    page = admin_client.get("/engines/local/swarm/")
    assert page.status_code == 200
    assert "This engine is not a swarm manager" in text(page)
    refused = admin_client.post(
        "/engines/local/swarm/services/new/", {"image": "x", "name": "nope"}
    )
    assert refused.status_code == 400
    assert "not a swarm manager" in text(refused)


# -- a service's life through the pages --------------------------------------------------------


@pytest.mark.django_db
def test_create_scale_update_roll_back_and_remove_a_service(admin_client, swarm_engine):
    engine = swarm_engine
    name = eng.unique_name("dwt-svc").replace("_", "-")
    since = _last_entry()

    created = _new(admin_client, name, env="GREETING=hello")

    assert created.status_code == 302, text(created)[-1500:]
    (service,) = _named(engine, name)
    spec = service["Spec"]
    assert spec["Mode"]["Replicated"]["Replicas"] == 2
    assert spec["Labels"]["dockerweb.created-by"] == "admin"
    assert eng.TEST_LABELS.items() <= spec["Labels"].items()
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["GREETING=hello"]
    _wait_running(engine, service["ID"], 2)

    overview = text(admin_client.get(f"{SWARM}/"))
    assert name in overview and "2/2 running" in overview and "manager" in overview
    page = admin_client.get(f"{SWARM}/services/{service['ID']}/")
    assert page.status_code == 200
    assert page.content.decode().count('data-task-state="running"') == 2

    assert (
        admin_client.post(f"{SWARM}/services/{name}/scale/", {"replicas": "3"}).status_code == 302
    )
    _wait_running(engine, service["ID"], 3)

    second = f"dwt-swarm-second:{eng.SESSION}"
    engine.tag(eng.TEST_IMAGE, *second.split(":"))
    updated = admin_client.post(f"{SWARM}/services/{name}/update/", {"image": second})
    assert updated.status_code == 302
    image = engine.inspect_service(service["ID"])["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert image["Image"] == second

    rolled = admin_client.post(f"{SWARM}/services/{name}/rollback/")
    assert rolled.status_code == 302
    after = engine.inspect_service(service["ID"])
    assert after["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == eng.TEST_IMAGE
    assert after["UpdateStatus"]["State"].startswith("rollback")

    asked = admin_client.get(f"{SWARM}/services/{name}/remove/")
    assert "Its tasks" in text(asked) and "stopped and their containers removed" in text(asked)
    assert admin_client.post(f"{SWARM}/services/{name}/remove/").status_code == 302
    assert _named(engine, name) == []

    ok = AuditEntry.Outcome.OK
    assert _audited(since) == [
        ("service.create", name, ok),
        ("service.scale", name, ok),
        ("service.update", name, ok),
        ("service.rollback", name, ok),
        ("service.remove", name, ok),
    ]


@pytest.mark.django_db
def test_an_operator_cannot_mount_the_host_or_the_engine_socket_through_a_service(
    swarm_engine, roles
):
    operator = client_for(make_user("swarm-operator", groups=("Operator",)))
    since = _last_entry()
    for mounts in ("/:/host", "/var/run/docker.sock:/var/run/docker.sock", "data:/etc"):
        name = eng.unique_name("dwt-hostile").replace("_", "-")

        refused = _new(operator, name, mounts=mounts)

        assert refused.status_code == 403, (mounts, refused.status_code)
        assert "administrators only" in text(refused) or "never mounts it" in text(refused)
        assert _named(swarm_engine, name) == []
    failed = AuditEntry.Outcome.FAILED
    assert [(a, o) for a, _, o in _audited(since)] == [("service.create", failed)] * 3


@pytest.mark.django_db
def test_not_even_an_administrator_mounts_the_swarm_engines_own_socket(
    admin_client, swarm_engine, swarm_dockerd, settings
):
    # Its folder is an allowed bind root, and the socket is not the main engine's: it is
    # still the engine this service would run on.
    settings.BIND_ROOTS = [str(swarm_dockerd.root)]
    name = eng.unique_name("dwt-sock").replace("_", "-")

    refused = _new(admin_client, name, mounts=f"{swarm_dockerd.socket}:/engine.sock")

    assert refused.status_code == 403
    assert "holds the Docker engine's socket" in text(refused)
    assert _named(swarm_engine, name) == []


@pytest.mark.django_db
def test_a_viewer_sees_the_swarm_but_changes_nothing(swarm_engine, roles, admin_client):
    name = eng.unique_name("dwt-viewed").replace("_", "-")
    # Published through the swarm's ingress network: no task here, so no engine on this
    # host needs its overlay (two swarms' ingress networks on one host clash).
    assert _new(admin_client, name, replicas="0", ports="18701:80").status_code == 302
    viewer = client_for(make_user("swarm-viewer", groups=("Viewer",)))
    nobody = client_for(make_user("swarm-nobody"))
    base = f"{SWARM}/services/{name}/"

    assert viewer.get(f"{SWARM}/").status_code == 200
    assert viewer.get(base).status_code == 200
    for path in (f"{SWARM}/", base, f"{SWARM}/services/new/"):
        assert nobody.get(path).status_code == 403, path
    assert viewer.get(f"{SWARM}/services/new/").status_code == 403
    for path, data in (
        (f"{SWARM}/services/new/", {"image": eng.TEST_IMAGE, "name": "viewer-made"}),
        (f"{base}scale/", {"replicas": "5"}),
        (f"{base}update/", {"image": "busybox:1"}),
        (f"{base}rollback/", {}),
        (f"{base}remove/", {}),
    ):
        assert viewer.post(path, data).status_code == 403, path
    (service,) = _named(swarm_engine, name)
    assert service["Spec"]["Mode"]["Replicated"]["Replicas"] == 0
    assert service["Spec"]["EndpointSpec"]["Ports"][0]["PublishedPort"] == 18701
    assert "18701→80/tcp" in text(viewer.get(base))
    assert _named(swarm_engine, "viewer-made") == []
    # Nodes are changed by administrators only (no role holds swarm.manage_node).
    node_id = swarm_engine.nodes()[0]["ID"]
    operator = client_for(make_user("swarm-op2", groups=("Operator",)))
    assert operator.get(f"{SWARM}/nodes/{node_id}/").status_code == 403


# -- the sockets -------------------------------------------------------------------------------


async def _receive_until(communicator, wanted, timeout=30):
    """Messages until `wanted(message)` is true (text as dict, bytes as bytes)."""
    import asyncio

    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while loop.time() < until:
        raw = await communicator.receive_output(timeout=until - loop.time())
        if raw["type"] == "websocket.close":
            raise AssertionError("the socket closed")
        message = json.loads(raw["text"]) if raw.get("text") else raw.get("bytes")
        if wanted(message):
            return message
    raise AssertionError("not received in time")


@pytest.mark.django_db(transaction=True)
async def test_the_swarm_sockets_stream_a_services_logs_and_say_when_it_changed(
    swarm_engine, settings
):
    from asgiref.sync import sync_to_async

    admin = await User.objects.acreate(username="swarm-ws-admin", is_superuser=True)
    client = await sync_to_async(client_for)(admin)
    headers = [*SAME_ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    name = eng.unique_name("dwt-logs").replace("_", "-")
    created = await sync_to_async(_new)(client, name, replicas="1")
    assert created.status_code == 302
    (service,) = await sync_to_async(_named)(swarm_engine, name)

    logs = WebsocketCommunicator(
        application, f"/engines/swarm/ws/swarm/services/{name}/logs/", headers=headers
    )
    events = WebsocketCommunicator(application, "/engines/swarm/ws/swarm/events/", headers=headers)
    try:
        assert (await logs.connect(timeout=10))[0]
        assert (await events.connect(timeout=10))[0]
        first = await _receive_until(logs, lambda m: isinstance(m, dict))
        assert first["type"] == "stream" and first["multiplexed"] is True, first
        await _receive_until(logs, lambda m: isinstance(m, bytes) and b"tick-" in m)
        await _receive_until(events, lambda m: m == {"type": "state", "state": "following"})
        await _receive_until(events, lambda m: m.get("type") == "changed")  # the catch-up

        await sync_to_async(swarm_engine.remove_service)(service["ID"])  # changed elsewhere

        await _receive_until(
            events, lambda m: m.get("type") == "changed" and "service" in m["kinds"]
        )
        gone = await _receive_until(logs, lambda m: isinstance(m, dict))
        assert gone == {"type": "state", "state": "removed", "reason": "The service was removed."}
    finally:
        await logs.disconnect()
        await events.disconnect()
