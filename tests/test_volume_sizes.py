"""Volume sizes come after the page: the pages never ask the engine's disk-usage query
(`system df`), the sizes fragment does, with its own timeout, one query for everyone."""

import contextlib
import html
import re
import threading
import time

import docker.errors
import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

from audit.models import AuditEntry
from dockerweb import gateway
from dockerweb.gateway import disk_usage
from dockerweb.sizes import human_size
from tests.engine import TEST_LABELS, settle_volume, unique_name, wait_for
from tests.engine_spy import spying_on_the_engine
from tests.socket_proxy import SocketProxy
from tests.test_volumes import FILE_BYTES, fill, row_of

DF_PATH = "/system/df"
PENDING = '<span id="volume-size-{}" class="size-pending" data-size-pending>measuring…</span>'
OOB_SIZE = re.compile(
    r'<span id="volume-size-([^"]+)"[^>]*data-size="(-?\d+)"[^>]*title="([^"]*)"'
    r' hx-swap-oob="true">([^<]*)</span>'
)


@pytest.fixture(autouse=True)
def no_kept_sizes():
    """Each test starts and ends without a kept disk-usage answer."""
    disk_usage.forget()
    yield
    disk_usage.forget()


@pytest.fixture
def own_volume(docker_api):
    """own_volume(anonymous=False) → name of a labelled volume, removed after the test."""
    names = []

    def make(anonymous=False):
        name = None if anonymous else unique_name("dwt-size")
        names.append(docker_api.create_volume(name=name, labels=TEST_LABELS)["Name"])
        settle_volume(names[-1])  # the pages read the live model
        return names[-1]

    yield make
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_volume(name, force=True)


@pytest.fixture
def df_calls(monkeypatch):
    """Every call of the gateway's disk-usage query (it still reaches the engine)."""
    calls = []
    real = gateway.system.disk_usage

    def counted(*args, **kwargs):
        calls.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway.system, "disk_usage", counted)
    return calls


def sizes_in(response) -> dict[str, tuple[int, str, str]]:
    """Volume name → (bytes or -1, title, shown text) of each size the fragment fills in."""
    assert response.status_code == 200
    found = OOB_SIZE.findall(response.content.decode())
    return {name: (int(size), html.unescape(title), shown) for name, size, title, shown in found}


def problem_line(response) -> str | None:
    match = re.search(r'<p id="volume-sizes-problem"([^>]*)>(.*?)</p>', response.content.decode())
    assert match, "no sizes problem line"
    return None if " hidden" in match.group(1) else html.unescape(match.group(2))


# -- the pages never ask --------------------------------------------------------------------


def test_volume_pages_render_placeholders_and_never_ask_for_sizes(
    admin_client, own_volume, df_calls
):
    name = own_volume()
    anonymous = own_volume(anonymous=True)  # unused: on the prune page, old and new engines

    with spying_on_the_engine() as spy:
        pages = {
            "list": admin_client.get("/engines/local/volumes/"),
            "filtered": admin_client.get("/engines/local/volumes/", {"q": name}),
            "rows": admin_client.get(
                "/engines/local/volumes/", {"q": name}, headers={"HX-Request": "true"}
            ),
            "remove": admin_client.get(f"/engines/local/volumes/{name}/remove/"),
            "prune": admin_client.get("/engines/local/volumes/prune/"),
            "files": admin_client.get(f"/engines/local/volumes/{name}/files/"),
        }

    assert {page: r.status_code for page, r in pages.items()} == dict.fromkeys(pages, 200)
    # The list comes from the live model; the remove page inspects its volume.
    assert any(r.path == f"/volumes/{name}" for r in spy.requests), "the spy saw no call at all"
    assert [r.path for r in spy.requests if r.path == DF_PATH] == []
    assert df_calls == []
    for page in ("list", "filtered", "rows"):
        row = row_of(pages[page], name)
        assert row is not None and PENDING.format(name) in row
        assert "data-size=" not in row
    rows = pages["filtered"].content.decode()
    assert (
        f'hx-get="/engines/local/volumes/sizes/?q={name}" hx-trigger="load" hx-swap="none"' in rows
    )
    remove = pages["remove"].content.decode()
    assert PENDING.format(name) in remove
    assert f'hx-get="/engines/local/volumes/sizes/?volume={name}" hx-trigger="load"' in remove
    prune = pages["prune"].content.decode()
    assert PENDING.format(anonymous) in prune
    assert 'id="volumes-total-size" class="size-pending" data-size-pending>measuring…' in prune
    assert 'hx-get="/engines/local/volumes/sizes/?unused=1" hx-trigger="load"' in prune


# -- the sizes fragment measures --------------------------------------------------------------


def test_sizes_fill_in_what_the_engine_measured(
    admin_client, docker_api, own_volume, make_container
):
    name = own_volume()
    empty = own_volume()
    anonymous = own_volume(anonymous=True)
    fill(make_container, docker_api, name)
    fill(make_container, docker_api, anonymous)

    filtered = sizes_in(admin_client.get("/engines/local/volumes/sizes/", {"q": name}))
    everything = sizes_in(admin_client.get("/engines/local/volumes/sizes/"))
    one = admin_client.get("/engines/local/volumes/sizes/", {"volume": name})
    prune = admin_client.get("/engines/local/volumes/sizes/", {"unused": "1"})

    assert list(filtered) == [name]
    size, title, shown = filtered[name]
    assert size >= FILE_BYTES and title == f"{size} bytes" and shown == human_size(size)
    assert everything[name][0] == size and everything[empty][0] == 0
    assert list(sizes_in(one)) == [name] and sizes_in(one)[name][0] == size
    assert problem_line(one) is None
    assert sizes_in(prune)[anonymous][0] >= FILE_BYTES
    total = int(re.search(r'data-size-total="(\d+)"', prune.content.decode()).group(1))
    assert total >= sizes_in(prune)[anonymous][0]
    assert 'id="volumes-total-size"' in prune.content.decode()


def test_removing_records_the_size_the_confirmation_showed(
    admin_client, docker_api, own_volume, make_container
):
    name = own_volume()
    fill(make_container, docker_api, name)
    assert admin_client.get(f"/engines/local/volumes/{name}/remove/").status_code == 200
    size = sizes_in(admin_client.get("/engines/local/volumes/sizes/", {"volume": name}))[name][0]

    response = admin_client.post(f"/engines/local/volumes/{name}/remove/", {"confirm_name": name})

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="volume.remove")
    assert (entry.outcome, entry.detail) == (AuditEntry.Outcome.OK, f"size {size} bytes")


def test_a_kept_answer_serves_until_someone_asks_for_a_volume_it_lacks(
    admin_client, own_volume, monkeypatch
):
    first = own_volume()
    with spying_on_the_engine() as spy:
        assert first in sizes_in(
            admin_client.get("/engines/local/volumes/sizes/", {"volume": first})
        )
        assert first in sizes_in(
            admin_client.get("/engines/local/volumes/sizes/", {"volume": first})
        )
        kept = [r for r in spy.requests if r.path == DF_PATH]
        monkeypatch.setattr(disk_usage, "REMEASURE_AFTER", 0.0)
        second = own_volume()
        measured = sizes_in(admin_client.get("/engines/local/volumes/sizes/", {"volume": second}))
        again = [r for r in spy.requests if r.path == DF_PATH]

    assert len(kept) == 1, "the second request should have used the kept answer"
    assert len(again) == 2, "a volume the kept answer lacks should be measured"
    assert measured[second][0] == 0


# -- one query for everyone ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_size_requests_share_one_disk_usage_query(own_volume, monkeypatch):
    viewers = 6
    name = own_volume()
    admin = User.objects.create_superuser("sizes-admin", password="sizes-admin-pw-1")
    real = gateway.system.disk_usage

    def once_everyone_waits(*args, **kwargs):
        # Only answer once all the other requests wait for this query: they overlap for sure.
        wait_for(
            lambda: disk_usage.waiting() == viewers - 1,
            message="the other size requests to wait for this query",
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway.system, "disk_usage", once_everyone_waits)
    logged_in = Client()
    logged_in.force_login(admin)  # one session, shared: the threads only read it
    answers = []

    def view():
        client = Client()
        client.cookies = logged_in.cookies
        try:
            answers.append(client.get("/engines/local/volumes/sizes/", {"volume": name}))
        finally:
            connection.close()

    with spying_on_the_engine() as spy:
        threads = [threading.Thread(target=view) for _ in range(viewers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert len(answers) == viewers
    sizes = [sizes_in(answer).get(name) for answer in answers]
    assert all(size and size[0] == 0 for size in sizes), sizes  # (bytes, title, shown) each
    assert [r.path for r in spy.requests].count(DF_PATH) == 1


# -- when the engine doesn't answer ----------------------------------------------------------


@pytest.fixture
def df_never_answered(settings, tmp_path_factory):
    """The real engine behind a forwarder that never passes the disk-usage query on."""
    proxy = SocketProxy(
        tmp_path_factory.mktemp("df") / "docker.sock", holds=lambda line: b"/system/df" in line
    )
    proxy.start()
    settings.DOCKER_HOST = proxy.address
    settings.DF_TIMEOUT = 1.0
    gateway.reset()
    yield proxy
    proxy.stop()
    gateway.reset()


def test_a_disk_usage_query_past_its_timeout_leaves_sizes_unknown_and_pages_whole(
    admin_client, own_volume, df_never_answered
):
    name = own_volume()
    page = admin_client.get("/engines/local/volumes/", {"q": name})
    remove = admin_client.get(f"/engines/local/volumes/{name}/remove/")
    assert (page.status_code, remove.status_code) == (200, 200)
    assert PENDING.format(name) in row_of(page, name)
    assert df_never_answered.held == 0

    started = time.monotonic()
    response = admin_client.get("/engines/local/volumes/sizes/", {"q": name})
    waited = time.monotonic() - started
    again = admin_client.get("/engines/local/volumes/sizes/", {"volume": name})

    assert df_never_answered.held == 1, "the query should have reached the (silent) engine"
    assert 1.0 <= waited < 6.0
    size, title, shown = sizes_in(response)[name]
    assert (size, shown) == (-1, "size unknown")
    assert "no answer to the disk-usage query within 1 s" in title
    assert "no answer to the disk-usage query within 1 s" in problem_line(response)
    # The failure is kept briefly too: the next viewer isn't made to wait again.
    assert sizes_in(again)[name][:2] == (-1, title)
    assert df_never_answered.held == 1


def test_sizes_say_unknown_and_why_when_the_engine_is_gone(admin_client, settings, tmp_path):
    settings.DOCKER_HOST = f"unix://{tmp_path / 'nobody.sock'}"
    try:
        one = admin_client.get("/engines/local/volumes/sizes/", {"volume": "some-volume"})
        listed = admin_client.get("/engines/local/volumes/sizes/")
    finally:
        gateway.reset()

    size, title, shown = sizes_in(one)["some-volume"]
    assert (size, shown) == (-1, "size unknown") and "no socket at that path" in title
    assert sizes_in(listed) == {} and "no socket at that path" in problem_line(listed)


# -- who may ask ----------------------------------------------------------------------------


def test_sizes_need_the_volume_view_permission(db, own_volume):
    name = own_volume()
    nobody = User.objects.create_user("no-volumes", password="no-volumes-pw-1")
    viewer = User.objects.create_user("vol-viewer", password="vol-viewer-pw-1")
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_volume", content_type__app_label="volumes")
    )
    clients = {}
    for user in (nobody, viewer):
        clients[user.username] = Client()
        clients[user.username].force_login(user)

    assert (
        clients["no-volumes"].get("/engines/local/volumes/sizes/", {"volume": name}).status_code
        == 403
    )
    assert name in sizes_in(
        clients["vol-viewer"].get("/engines/local/volumes/sizes/", {"volume": name})
    )


def test_sizes_refuse_what_is_not_a_volume_name(admin_client):
    assert admin_client.get("/engines/local/volumes/sizes/", {"volume": "../x"}).status_code == 400
    many = {"volume": [f"v{i}x" for i in range(100)]}
    assert admin_client.get("/engines/local/volumes/sizes/", many).status_code == 400
