"""Deny by default: every URL and websocket needs a login, the right permission, our origin,
a POST for changes and a CSRF token with it."""

import re

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEntry
from dockerweb.asgi import application
from dockerweb.routing import websocket_urlpatterns

PASSWORD = "security-test-pw-1"
# Websockets are ours only from the portal's exact origin: scheme, host and port.
SAME_ORIGIN = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
FOREIGN_ORIGIN = [(b"origin", b"http://evil.example"), (b"host", b"localhost:8000")]
# A page on another port of the portal's own host: a container someone published.
OTHER_PORT = [(b"origin", b"http://localhost:8001"), (b"host", b"localhost:8000")]
NO_ORIGIN = [(b"host", b"localhost:8000")]
# Behind a TLS proxy the socket arrives as plain ws on the inner address.
TLS_PROXY = [(b"origin", b"https://docker.example.com"), (b"host", b"127.0.0.1:8000")]
# DNS rebinding: a foreign name pointed at the portal; Host and Origin agree, both foreign.
REBOUND = [(b"origin", b"http://evil.example:8000"), (b"host", b"evil.example:8000")]
ACTIONS = ("start", "stop", "restart", "pause", "unpause", "kill")
# Pages that must answer without a login: ours and the admin's own login form, and the
# healthcheck's plain "ok" (dockerweb/health.py: it tells nothing about the engine or users).
PUBLIC = {"/login/", "/admin/login/", "/healthz"}


# -- enumerating every route --------------------------------------------------------------


def _samples(container_id: str) -> dict[str, str]:
    """A plausible value for each path parameter name used by the project and the admin."""
    return {
        "container_id": container_id,
        "action": "stop",
        "object_id": "1",
        "content_type_id": "1",
        "id": "1",
        "app_label": "auth",
        "url": "no-such-page/",
        "reference": "busybox:latest",
        "pk": "1",
        "job_id": SAMPLE_JOB_ID,
        "network_id": "no-such-network",
        "volume_name": "no-such-volume",
        "service_id": "no-such-service",
        "node_id": "no-such-node",
        "engine_name": "local",  # the Engines pages (/settings/engines/<name>/…)
        "grant_id": "1",
    }


def _fill(pattern: str, samples: dict[str, str]) -> str:
    """A concrete path for one route or regex piece, parameters replaced by sample values."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in samples, f"no sample value for path parameter {name!r} in {pattern!r}"
        return samples[name]

    # Regex pieces: named groups, anchors. Route pieces: <converter:name> or <name>.
    filled = re.sub(r"\(\?P<(\w+)>[^)]*\)", value, pattern)
    filled = filled.lstrip("^").rstrip("$")
    return re.sub(r"<(?:\w+:)?(\w+)>", value, filled)


def all_paths(container_id: str) -> list[str]:
    samples = _samples(container_id)
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            piece = _fill(str(entry.pattern), samples)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + piece)
            else:
                assert isinstance(entry, URLPattern)
                found.append(prefix + piece)

    walk(get_resolver().url_patterns, "/")
    return found


def all_websocket_paths(container_id: str) -> list[str]:
    samples = _samples(container_id)
    # Every socket lives on an engine: /engines/<name>/ws/… (dockerweb/engine_scope.py).
    return [
        "/engines/local/" + _fill(str(route.pattern), samples) for route in websocket_urlpatterns
    ]


# -- users --------------------------------------------------------------------------------


def make_user(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def logged_in(user: User, *, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(user)
    return client


def session_headers(client: Client, origin=SAME_ORIGIN) -> list:
    return [*origin, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def websocket_accepted(path: str, headers: list) -> bool:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    if connected:
        await communicator.disconnect(timeout=10)
    return connected


def container_pages(cid: str) -> list[str]:
    return [
        "/engines/local/containers/",
        "/engines/local/containers/sidebar/",
        f"/engines/local/containers/{cid}/",
        f"/engines/local/containers/{cid}/overview/",
        f"/engines/local/containers/{cid}/inspect/",
        f"/engines/local/containers/{cid}/header/",
        f"/engines/local/containers/{cid}/logs/download/",
        f"/engines/local/containers/{cid}/stats/",
        f"/engines/local/containers/{cid}/processes/",
    ]


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(
        ("/login/?next=", "/admin/login/?next=")
    )


@pytest.fixture
def container(make_container):
    return make_container()


SAMPLE_JOB_ID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def sample_job(django_db_blocker):
    """The job the sample /engines/local/ws/jobs/<id>/ path names (a socket for an unknown job is refused)."""
    from jobs.models import Job

    with django_db_blocker.unblock():
        return Job.objects.create(
            id=SAMPLE_JOB_ID, kind="pull", title="Pull x", started_by_name="t"
        )


# -- anonymous ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_url_redirects_anonymous_users_to_the_login(client, container):
    paths = all_paths(container["Id"])
    assert (
        f"/engines/local/containers/{container['Id']}/stop/" in paths
        and "/admin/auth/user/1/change/" in paths
    )
    for path in paths:
        if path in PUBLIC:
            assert client.get(path).status_code == 200, path
            continue
        for method in (client.get, client.post):
            response = method(path)
            assert is_login_redirect(response), (method.__name__, path, response.status_code)


@pytest.mark.django_db(transaction=True)
async def test_every_websocket_route_refuses_anonymous_users(container):
    paths = all_websocket_paths(container["Id"])
    assert len(paths) == len(websocket_urlpatterns) >= 2
    for path in paths:
        assert not await websocket_accepted(path, SAME_ORIGIN), path


# -- origin -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_websockets_from_a_foreign_origin_are_refused_even_when_logged_in(
    container, sample_job
):
    admin = await User.objects.acreate(username="origin-admin", is_superuser=True)
    client = await _logged_in_async(admin)
    for path in all_websocket_paths(container["Id"]):
        assert await websocket_accepted(path, session_headers(client)), path
        assert not await websocket_accepted(path, session_headers(client, FOREIGN_ORIGIN)), path


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (SAME_ORIGIN, True),
        (OTHER_PORT, False),
        ([(b"origin", b"http://localhost"), (b"host", b"localhost:8000")], False),
        ([(b"origin", b"https://localhost:8000"), (b"host", b"localhost:8000")], False),
        (NO_ORIGIN, False),
        ([(b"origin", b"null"), (b"host", b"localhost:8000")], False),
        (REBOUND, False),
        (TLS_PROXY, False),
    ],
    ids=[
        "exact",
        "other-port",
        "default-port",
        "other-scheme",
        "none",
        "null",
        "rebound",
        "untrusted-proxy",
    ],
)
async def test_every_websocket_accepts_only_the_portals_exact_origin(
    container, sample_job, origin, accepted
):
    admin = await User.objects.acreate(username="origin-admin", is_superuser=True)
    client = await _logged_in_async(admin)
    for path in all_websocket_paths(container["Id"]):
        assert await websocket_accepted(path, session_headers(client, origin)) is accepted, path


@pytest.mark.django_db(transaction=True)
async def test_websockets_accept_csrf_trusted_origins_and_allowed_hosts_with_a_port(
    container, sample_job, settings
):
    settings.CSRF_TRUSTED_ORIGINS = ["https://docker.example.com"]
    settings.ALLOWED_HOSTS = ["localhost", "portal.example"]
    settings.PORTAL_ADDRESSES = ["portal.example:8443"]
    admin = await User.objects.acreate(username="origin-admin", is_superuser=True)
    client = await _logged_in_async(admin)
    proxied = [(b"origin", b"http://portal.example:8443"), (b"host", b"localhost:8000")]
    elsewhere = [(b"origin", b"http://portal.example:8444"), (b"host", b"localhost:8000")]
    for path in all_websocket_paths(container["Id"]):
        assert await websocket_accepted(path, session_headers(client, TLS_PROXY)), path
        assert await websocket_accepted(path, session_headers(client, proxied)), path
        assert not await websocket_accepted(path, session_headers(client, elsewhere)), path
        assert not await websocket_accepted(path, session_headers(client, OTHER_PORT)), path


async def _logged_in_async(user: User) -> Client:
    from asgiref.sync import sync_to_async

    return await sync_to_async(logged_in)(user)


# -- methods and CSRF ---------------------------------------------------------------------


@pytest.mark.django_db
def test_state_changing_urls_refuse_get(admin_user, container, docker_api):
    client = logged_in(admin_user)
    cid = container["Id"]
    for action in ACTIONS:
        assert client.get(f"/engines/local/containers/{cid}/{action}/").status_code == 405, action
    assert client.get("/logout/").status_code == 405
    # GET on remove and run only shows the form.
    assert client.get(f"/engines/local/containers/{cid}/remove/").status_code == 200
    assert client.get("/engines/local/containers/new/", {"image": "x"}).status_code == 200
    assert client.get("/engines/local/containers/new/advanced/", {"image": "x"}).status_code == 200
    assert client.get("/engines/local/containers/new/create/").status_code == 405
    assert docker_api.inspect_container(cid)["State"]["Running"]
    assert not AuditEntry.objects.exists()
    assert client.get("/engines/local/containers/").status_code == 200, (
        "GET /logout/ logged the user out"
    )


@pytest.mark.django_db
def test_state_changing_posts_without_a_csrf_token_are_forbidden(admin_user, container, docker_api):
    client = logged_in(admin_user, enforce_csrf_checks=True)
    cid = container["Id"]
    posts = [
        *(f"/engines/local/containers/{cid}/{action}/" for action in ACTIONS),
        f"/engines/local/containers/{cid}/remove/",
        "/engines/local/containers/new/advanced/",
        "/engines/local/containers/new/create/",
        "/logout/",
    ]
    for path in posts:
        response = client.post(path, {"image": "dockerweb-test/busybox:1", "name": "csrf-x"})
        assert response.status_code == 403, (path, response.status_code)
    assert docker_api.inspect_container(cid)["State"]["Running"]
    assert not AuditEntry.objects.exists()
    assert client.get("/engines/local/containers/").status_code == 200, (
        "the refused logout logged out"
    )


# -- permissions --------------------------------------------------------------------------


def action_posts(cid: str) -> list[str]:
    return [
        *(f"/engines/local/containers/{cid}/{action}/" for action in ACTIONS),
        f"/engines/local/containers/{cid}/remove/",
        "/engines/local/containers/new/advanced/",
        "/engines/local/containers/new/create/",
    ]


@pytest.mark.django_db
def test_a_user_without_permissions_is_forbidden_every_container_page_and_action(
    container, docker_api
):
    client = logged_in(make_user("nobody"))
    cid = container["Id"]
    new_pages = ["/engines/local/containers/new/", "/engines/local/containers/new/advanced/"]
    for path in [*container_pages(cid), f"/engines/local/containers/{cid}/remove/", *new_pages]:
        assert client.get(path).status_code == 403, path
    for path in action_posts(cid):
        assert client.post(path, {"image": "dockerweb-test/busybox:1"}).status_code == 403, path
    assert docker_api.inspect_container(cid)["State"]["Running"]
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_user_without_permissions_is_refused_every_websocket(container):
    from asgiref.sync import sync_to_async

    user = await sync_to_async(make_user)("nobody-ws")
    client = await _logged_in_async(user)
    for path in all_websocket_paths(container["Id"]):
        assert not await websocket_accepted(path, session_headers(client)), path


def close_streaming(response) -> None:
    """Close a response as the server would, without its request_finished handler closing
    the test's database connection (Django's test client detaches it the same way)."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_a_viewer_sees_containers_but_may_not_stop_remove_or_run_them(container, docker_api):
    client = logged_in(make_user("viewer", "containers.view_container"))
    cid = container["Id"]
    for path in container_pages(cid):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        close_streaming(response)  # the log download holds an engine stream until closed
    page = client.get(f"/engines/local/containers/{cid}/").content.decode()
    assert container["Name"].lstrip("/") in page
    assert f"/engines/local/containers/{cid}/stop/" not in page, (
        "the viewer is offered a Stop button"
    )
    for path in (
        f"/engines/local/containers/{cid}/remove/",
        "/engines/local/containers/new/",
        "/engines/local/containers/new/advanced/",
    ):
        assert client.get(path).status_code == 403, path
    for path in action_posts(cid):
        assert client.post(path, {"image": "dockerweb-test/busybox:1"}).status_code == 403, path
    assert docker_api.inspect_container(cid)["State"]["Running"]
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_viewer_may_open_the_live_log_and_job_sockets(container, sample_job):
    from asgiref.sync import sync_to_async

    user = await sync_to_async(make_user)(
        "viewer-ws", "containers.view_container", "jobs.view_job", "swarm.view_swarm"
    )
    client = await _logged_in_async(user)
    for path in all_websocket_paths(container["Id"]):
        # A terminal is a shell in the container: administrators and open_terminal only.
        terminal = path.endswith("/terminal/")
        assert await websocket_accepted(path, session_headers(client)) is not terminal, path


@pytest.mark.django_db
def test_the_audit_page_needs_the_view_auditentry_permission():
    AuditEntry.objects.create(
        username="someone",
        engine="local",
        action="container.stop",
        target_type="container",
        target_name="web",
    )
    viewer = logged_in(make_user("viewer", "containers.view_container"))
    assert viewer.get("/engines/local/audit/").status_code == 403
    auditor = logged_in(make_user("auditor", "audit.view_auditentry"))
    response = auditor.get("/engines/local/audit/")
    assert response.status_code == 200
    assert "container.stop" in response.content.decode()
