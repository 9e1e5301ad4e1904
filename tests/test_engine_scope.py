"""Several engines: the engine in every URL, one live model each, grants per engine.

Two engines are declared as configuration management would (settings.DOCKERWEB_ENGINES):
"local", the shared main engine, and "edge", this session's own second dockerd reached over
TCP with --tlsverify (tests/extra_dockerd.py). Judged by what each engine holds afterwards.
"""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured

from audit.models import AuditEntry
from dockerweb import engines
from dockerweb.asgi import application
from dockerweb.engine_specs import DeclaredEngine, TlsMaterial
from dockerweb.env import env_engines
from engines.models import EngineGrant
from jobs.models import Job
from jobs.runner import start_job
from tests.engine import TEST_IMAGE, TEST_LABELS, unique_name, wait_for
from tests.test_security import SAME_ORIGIN, all_paths, close_streaming
from tests.users import make_user

pytestmark = pytest.mark.django_db(transaction=True)

LOCAL, EDGE = "/engines/local", "/engines/edge"


@pytest.fixture
def two_engines(settings, tls_dockerd):
    tls = tls_dockerd.tls
    settings.DOCKERWEB_ENGINES = [
        DeclaredEngine("local", settings.DOCKER_HOST, None),
        DeclaredEngine(
            "edge", tls_dockerd.tcp_address, TlsMaterial(tls.ca, tls.client.cert, tls.client.key)
        ),
    ]
    return tls_dockerd


@pytest.fixture(autouse=True)
def roles():
    """Viewer and Operator, as the roles migration makes them (transactional tests flush it)."""
    from django.apps import apps

    from roles.definitions import ROLES, install_roles

    install_roles(apps, ROLES)


@pytest.fixture
def edge_container(two_engines):
    """A running container on the edge engine only (made through its own side door)."""
    client = two_engines.client()
    name = unique_name("edge")
    created = client.create_container(
        TEST_IMAGE, command=["sleep", "600"], name=name, labels=TEST_LABELS
    )
    client.start(created["Id"])
    yield {"id": created["Id"], "name": name}
    client.remove_container(created["Id"], force=True)


def _seen_by_model(engine_name: str, container_id: str) -> bool:
    with engines.activate(engines.get(engine_name)):
        model = engines.current().live()
        return model.container(container_id) is not None


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _running_on(dockerd, container_id: str) -> bool:
    return dockerd.client().inspect_container(container_id)["State"]["Running"]


def test_each_engine_has_its_own_pages_and_links(admin_client, edge_container, make_container):
    local = make_container(name=unique_name("local"))
    wait_for(lambda: _seen_by_model("edge", edge_container["id"]), timeout=30)
    wait_for(lambda: _seen_by_model("local", local["Id"]), timeout=30)

    edge_list = admin_client.get(f"{EDGE}/containers/?q={edge_container['name']}").content.decode()
    assert edge_container["name"] in edge_list
    assert f'href="{EDGE}/containers/{edge_container["id"]}/"' in edge_list
    # Every link of the page stays on the engine it shows, but the switcher's to the other.
    before, switcher = edge_list.split('<nav aria-label="Engines"', 1)
    after = switcher.split("</nav>", 1)[1]
    assert f'href="{LOCAL}/' not in before + after
    assert f'data-live-url="{EDGE}/ws/live/"' in edge_list
    # The other engine doesn't hold it, and its page says nothing of it.
    assert (
        edge_container["id"]
        not in admin_client.get(f"{LOCAL}/containers/?q={edge_container['name']}").content.decode()
    )
    assert admin_client.get(f"{LOCAL}/containers/{edge_container['id']}/").status_code == 404
    assert admin_client.get(f"{EDGE}/containers/{local['Id']}/").status_code == 404
    assert admin_client.get(f"{EDGE}/containers/{edge_container['id']}/").status_code == 200

    # The switcher offers both, each at the same section of the other engine.
    assert f'href="{LOCAL}/containers/"' in switcher


def test_actions_go_to_the_engine_in_the_url_and_are_audited_there(
    admin_client, edge_container, two_engines
):
    wait_for(lambda: _seen_by_model("edge", edge_container["id"]), timeout=30)
    response = admin_client.post(f"{EDGE}/containers/{edge_container['id']}/stop/")
    assert response.status_code in (200, 302)
    assert not _running_on(two_engines, edge_container["id"])
    entry = AuditEntry.objects.filter(action="container.stop").latest("at")
    assert (entry.engine, entry.target_id) == ("edge", edge_container["id"])
    activity = lambda prefix: admin_client.get(f"{prefix}/audit/").content.decode()  # noqa: E731
    assert edge_container["name"] in activity(EDGE)
    assert edge_container["name"] not in activity(LOCAL)


def test_jobs_run_on_their_engine_and_are_seen_only_there(admin_client, admin_user, two_engines):
    seen = []

    def work(reporter):
        from dockerweb import gateway

        seen.append(gateway.system.engine_facts().version)
        return {}

    with engines.activate(engines.get("edge")):
        job = start_job(kind="prune", title="Probe", params={}, user=admin_user, work=work)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=30)
    assert Job.objects.get(pk=job.pk).engine == "edge"
    assert seen == [two_engines.client().version()["Version"]]
    assert admin_client.get(f"{EDGE}/jobs/{job.pk}/").status_code == 200
    assert admin_client.get(f"{LOCAL}/jobs/{job.pk}/").status_code == 404
    assert str(job.pk) not in admin_client.get(f"{LOCAL}/jobs/").content.decode()


def test_unknown_engines_and_unscoped_sockets_are_refused(admin_client, client, two_engines):
    assert admin_client.get("/engines/nowhere/containers/").status_code == 404
    # Logged out, which engines exist is not told: known or not, the log-in page.
    for path in ("/engines/nowhere/containers/", f"{EDGE}/containers/"):
        assert client.get(path)["Location"].startswith("/login/?next=")
    # A link from before engines were in URLs opens the same page on the user's engine.
    admin_client.get(f"{EDGE}/containers/")
    old = admin_client.get("/containers/?q=x")
    assert (old.status_code, old["Location"]) == (302, f"{EDGE}/containers/?q=x")
    assert admin_client.get("/")["Location"] == f"{EDGE}/"
    headers = _socket_headers(admin_client)
    assert not asyncio.run(_accepted("/ws/live/", headers))
    assert not asyncio.run(_accepted("/engines/nowhere/ws/live/", headers))
    assert asyncio.run(_accepted(f"{EDGE}/ws/live/", headers))


@pytest.mark.parametrize("role", ["Viewer", "Operator"])
def test_a_role_granted_on_one_engine_holds_there_only(role, edge_container, two_engines):
    """Every route of the portal, for a role given on "local" only, compared with the same role
    given on every engine (group membership): the same answers on local, refused on edge."""
    granted = make_user(unique_name("granted"))
    EngineGrant.objects.create(engine="local", user=granted, role=Group.objects.get(name=role))
    member = make_user(unique_name("member"), groups=(role,))
    as_granted, as_member = _client_for(granted), _client_for(member)

    paths = [p for p in all_paths(edge_container["id"]) if p.startswith(f"{LOCAL}/")]
    assert len(paths) > 40
    for path in paths:
        on_local = as_granted.get(path)
        expected = as_member.get(path)
        close_streaming(on_local)
        close_streaming(expected)
        assert on_local.status_code == expected.status_code, path
        edge_path = EDGE + path.removeprefix(LOCAL)
        assert as_granted.get(edge_path).status_code == 403, edge_path
        assert as_granted.post(edge_path).status_code == 403, edge_path
    # Refused by the engine's state too: the container still runs, nothing was removed.
    assert _running_on(two_engines, edge_container["id"])
    # The switcher and "/" know only the granted engine.
    assert as_granted.get("/")["Location"] == f"{LOCAL}/"
    assert 'data-engine="edge"' not in as_granted.get(f"{LOCAL}/containers/").content.decode()
    headers = _socket_headers(as_granted)
    assert asyncio.run(_accepted(f"{LOCAL}/ws/live/", headers))
    assert not asyncio.run(_accepted(f"{EDGE}/ws/live/", headers))
    assert not asyncio.run(_accepted(f"{EDGE}/ws/containers/{edge_container['id']}/logs/", headers))


def test_an_operator_granted_on_one_engine_cannot_act_on_the_other(edge_container, two_engines):
    operator = make_user(unique_name("op"))
    EngineGrant.objects.create(
        engine="local", user=operator, role=Group.objects.get(name="Operator")
    )
    client = _client_for(operator)
    stop = client.post(f"{EDGE}/containers/{edge_container['id']}/stop/")
    remove = client.post(f"{EDGE}/containers/{edge_container['id']}/remove/", {"confirm": "yes"})
    assert (stop.status_code, remove.status_code) == (403, 403)
    assert _running_on(two_engines, edge_container["id"])


def test_engines_are_declared_in_the_environment_with_tls_dirs(monkeypatch, tmp_path, tls_dockerd):
    folder = tls_dockerd.tls.write_client_dir(tmp_path / "edge-tls")
    monkeypatch.setenv(
        "DOCKERWEB_ENGINES", "local=unix:///var/run/docker.sock, edge-1=tcp://127.0.0.1:2376"
    )
    monkeypatch.setenv("DOCKERWEB_ENGINE_EDGE_1_TLS_DIR", str(folder))
    local, edge = env_engines()
    assert (local.name, local.address, local.tls) == ("local", "unix:///var/run/docker.sock", None)
    assert (edge.name, edge.tls.ca, edge.tls.key) == (
        "edge-1",
        tls_dockerd.tls.ca,
        tls_dockerd.tls.client.key,
    )
    for bad, says in [
        ("Edge=tcp://h:2375", "lower-case"),
        ("a=tcp://h:2375,a=tcp://i:2375", "twice"),
        ("a", "name=address"),
        ("a=ftp://h", "unsupported scheme"),
        ("a=tcp://h:2376", "DOCKERWEB_ENGINE_A_TLS_DIR"),
    ]:
        monkeypatch.setenv("DOCKERWEB_ENGINES", bad)
        with pytest.raises(ImproperlyConfigured, match=says):
            env_engines()
    (folder / "key.pem").unlink()
    monkeypatch.setenv("DOCKERWEB_ENGINES", "edge-1=tcp://127.0.0.1:2376")
    with pytest.raises(ImproperlyConfigured, match="key.pem"):
        env_engines()


def _socket_headers(client) -> list:
    return [*SAME_ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def _accepted(path: str, headers: list) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    if connected:
        await communicator.disconnect(timeout=10)
    return connected
