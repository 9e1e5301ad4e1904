"""Stats and Processes: the sample → message math, one engine stats stream per container
however many sockets watch it, states, `docker top`, and who may see them."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from websockets.asyncio.client import connect

from containers import container_follow, stats_fanout
from containers.stats_fanout import history_text, message_of
from dockerweb import gateway
from dockerweb.asgi import application
from dockerweb.gateway.processes import table_of
from dockerweb.gateway.stats import StatsSample
from tests.conftest import start_portal, stop_portal
from tests.engine import settle_model, wait_for
from tests.pages import text
from tests.request_proxy import RequestProxy
from tests.users import client_for, make_user

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
T0 = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
BURN = ("sh", "-c", "while :; do :; done")


def sample(seconds: float = 0, **fields) -> StatsSample:
    values = {
        "read_at": T0 + timedelta(seconds=seconds),
        "cpu_percent": 12.3456,
        "online_cpus": 2,
        "memory_used": 5_000_000,
        "memory_limit": 8_000_000_000,
        "net_rx": 1_000,
        "net_tx": 2_000,
        "block_read": 10_000,
        "block_write": 20_000,
        "pids": 3,
    }
    return StatsSample(**{**values, **fields})


# -- the sample → message math (pure) ------------------------------------------------------


def test_a_streams_first_sample_has_no_rates_yet():
    message = message_of(sample(), None, now=0)
    assert message == {
        "type": "sample",
        "t": T0.timestamp(),
        "cpu": 12.35,
        "mem": 5_000_000,
        "mem_limit": 8_000_000_000,
        "net_rx": None,
        "net_tx": None,
        "blk_read": None,
        "blk_write": None,
        "pids": 3,
    }


def test_rates_are_bytes_per_second_since_the_previous_sample():
    before = sample(0)
    after = sample(
        2, net_rx=1_000 + 3_000, net_tx=2_000 + 1, block_read=10_000, block_write=20_000 + 4_096
    )
    message = message_of(after, before, now=0)
    assert (message["net_rx"], message["net_tx"]) == (1_500, 0)  # 0.5 B/s rounds to 0
    assert (message["blk_read"], message["blk_write"]) == (0, 2_048)
    assert message["t"] == (T0 + timedelta(seconds=2)).timestamp()


def test_a_counter_that_went_down_counts_from_zero_and_unknown_cpu_stays_unknown():
    before = sample(0, net_rx=50_000)
    after = sample(1, net_rx=700, cpu_percent=None)  # the container restarted in between
    message = message_of(after, before, now=0)
    assert message["net_rx"] == 700
    assert message["cpu"] is None


def test_a_sample_without_a_time_is_placed_now():
    assert message_of(sample(read_at=None), None, now=1234.5)["t"] == 1234.5


def test_the_history_joins_samples_already_serialized():
    texts = [json.dumps(message_of(sample(n), None, now=0)) for n in range(3)]
    history = json.loads(history_text(texts))
    assert history["type"] == "history"
    assert [s["t"] for s in history["samples"]] == [
        (T0 + timedelta(seconds=n)).timestamp() for n in range(3)
    ]
    assert json.loads(history_text([])) == {"type": "history", "samples": []}


def test_a_top_document_becomes_plain_titles_and_rows():
    table = table_of({"Titles": ["PID", "CMD"], "Processes": [["1", "sleep 3600"], ["7", "sh"]]})
    assert table.titles == ("PID", "CMD")
    assert table.rows == (("1", "sleep 3600"), ("7", "sh"))
    assert table_of({}).rows == ()


# -- the fan-out, through the real socket and engine -----------------------------------------


@sync_to_async
def headers_for(username: str, *permissions: str, superuser: bool = False) -> list:
    if superuser:
        user = User.objects.create_superuser(username, password=f"{username}-pw-12345")
    else:
        user = make_user(username, *permissions)
    client = client_for(user)
    return [*ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


class Watcher:
    """One stats socket: the messages it got, read as they come."""

    def __init__(self, container_id: str, headers: list):
        path = f"/engines/local/ws/containers/{container_id}/stats/"
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.messages: list[dict] = []

    async def open(self) -> "Watcher":
        connected, _ = await self.communicator.connect(timeout=10)
        assert connected
        return self

    @property
    def samples(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "sample"]

    @property
    def states(self) -> list[str]:
        return [m["state"] for m in self.messages if m["type"] == "state"]

    async def read_until(self, done, *, timeout: float = 30, what: str = "") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done(self):
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what} (got {self.messages[-3:]})")
            output = await self.communicator.receive_output(timeout=left)
            if output["type"] == "websocket.close":
                raise AssertionError(f"socket closed waiting for {what}")
            self.messages.append(json.loads(output["text"]))

    async def close(self) -> None:
        await self.communicator.disconnect(timeout=10)


@pytest.fixture
def engine_streams(monkeypatch):
    """Every engine stats stream the portal opens, in order."""
    opened = []
    real = gateway.stats.open_stats_stream

    def spy(*args, **kwargs):
        stream = real(*args, **kwargs)
        opened.append(stream)
        return stream

    monkeypatch.setattr(gateway.stats, "open_stats_stream", spy)
    return opened


def reader_threads(container_id: str) -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name == f"stats-{container_id[:12]}"]


@pytest.mark.django_db(transaction=True)
async def test_three_sockets_share_one_engine_stream_closed_after_the_last_left(
    make_container, engine_streams, monkeypatch
):
    monkeypatch.setattr(container_follow, "GRACE", 0.5)
    cid = make_container(BURN)["Id"]
    headers = await headers_for("watcher", superuser=True)
    watchers = [await Watcher(cid, headers).open() for _ in range(3)]
    for watcher in watchers:
        await watcher.read_until(lambda w: len(w.samples) >= 2, what="two samples")
        assert watcher.messages[0]["type"] == "history"
        assert "running" in watcher.states
    assert len(engine_streams) == 1
    assert len(reader_threads(cid)) == 1
    # Each sample was made once: every socket got the same ones.
    shared = {m["t"] for m in watchers[0].samples} & {m["t"] for m in watchers[1].samples}
    assert shared

    # A late viewer's charts start filled: the samples kept come first.
    late = await Watcher(cid, headers).open()
    await late.read_until(lambda w: w.messages, what="the history")
    assert late.messages[0]["type"] == "history" and len(late.messages[0]["samples"]) >= 2
    assert any(s["cpu"] is not None and s["cpu"] > 20 for s in late.messages[0]["samples"])

    for watcher in [*watchers, late][:-1]:
        await watcher.close()
    seen = len(late.samples)
    await late.read_until(lambda w: len(w.samples) > seen, what="samples for the last one")
    assert not engine_streams[0].closed, "the stream closed while someone still watches"

    await late.close()
    await asyncio.to_thread(
        wait_for, lambda: engine_streams[0].closed, timeout=10, message="the stream to close"
    )
    await asyncio.to_thread(
        wait_for, lambda: not reader_threads(cid), timeout=10, message="its thread to end"
    )
    assert cid not in stats_fanout.registry()
    assert len(engine_streams) == 1


@pytest.mark.django_db(transaction=True)
async def test_a_stopped_container_says_so_and_streams_again_once_started(
    make_container, docker_api, engine_streams
):
    cid = make_container(("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"))["Id"]
    watcher = await Watcher(cid, await headers_for("stopper", superuser=True)).open()
    await watcher.read_until(lambda w: w.samples, what="a sample")

    await asyncio.to_thread(docker_api.stop, cid, timeout=5)
    await watcher.read_until(lambda w: w.states[-1:] == ["stopped"], what="the stopped state")
    assert engine_streams[0].closed, "the engine stream of a stopped container stays open"

    await asyncio.to_thread(docker_api.start, cid)
    stopped_at = len(watcher.messages)
    await watcher.read_until(
        lambda w: any(m["type"] == "sample" for m in w.messages[stopped_at:]),
        what="samples after the start",
    )
    assert watcher.states == ["running", "stopped", "running"]
    assert len(engine_streams) == 2

    await asyncio.to_thread(docker_api.remove_container, cid, force=True)
    await watcher.read_until(lambda w: w.states[-1:] == ["removed"], what="the removed state")
    await watcher.close()


@pytest.mark.django_db(transaction=True)
async def test_a_viewer_may_watch_stats_and_a_user_without_permission_may_not(
    make_container,
):
    cid = make_container()["Id"]
    viewer = await Watcher(cid, await headers_for("v", "containers.view_container")).open()
    await viewer.read_until(lambda w: w.messages, what="the history")
    await viewer.close()

    nobody = Watcher(cid, await headers_for("nobody"))
    connected, _ = await nobody.communicator.connect(timeout=10)
    assert not connected


# -- the pages ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_stats_and_processes_tabs_need_the_view_permission(make_container):
    cid = make_container()["Id"]
    nobody = client_for(make_user("nobody"))
    viewer = client_for(make_user("viewer", groups=("Viewer",)))  # the role, as admins give it
    for tab in ("stats", "processes"):
        assert nobody.get(f"/engines/local/containers/{cid}/{tab}/").status_code == 403
        assert viewer.get(f"/engines/local/containers/{cid}/{tab}/").status_code == 200
    assert (
        nobody.get(
            f"/engines/local/containers/{cid}/processes/", HTTP_HX_REQUEST="true"
        ).status_code
        == 403
    )


@pytest.mark.django_db
def test_the_processes_tab_lists_the_containers_processes_and_its_fragment_refreshes(
    make_container, docker_api
):
    cid = make_container(("sleep", "4242"))["Id"]
    client = client_for(make_user("viewer", "containers.view_container"))
    page = client.get(f"/engines/local/containers/{cid}/processes/")
    assert "sleep 4242" in text(page)
    assert 'hx-trigger="every 3s, refresh"' in page.content.decode()
    assert "HX-Request" in page["Vary"]

    docker_api.exec_start(docker_api.exec_create(cid, ["sleep", "5151"]), detach=True)

    def fragment_shows_the_exec():
        fragment = client.get(f"/engines/local/containers/{cid}/processes/", HTTP_HX_REQUEST="true")
        return "sleep 5151" in text(fragment) and "<nav" not in fragment.content.decode()

    wait_for(fragment_shows_the_exec, timeout=10, message="the exec'd process")


@pytest.mark.django_db
def test_a_stopped_container_has_no_processes_or_stats_and_offers_start(make_container, admin_user):
    cid = make_container(start=False)["Id"]
    client = Client()
    client.force_login(admin_user)
    processes = client.get(f"/engines/local/containers/{cid}/processes/")
    assert "This container isn't running, so it has no processes." in text(processes)
    assert f'action="/engines/local/containers/{cid}/start/"' in processes.content.decode()
    stats = client.get(f"/engines/local/containers/{cid}/stats/")
    assert "This container isn't running, so it has no stats." in text(stats)
    assert 'data-state="stopped"' in stats.content.decode()

    viewer = client_for(make_user("viewer", "containers.view_container"))
    assert (
        "/start/" not in viewer.get(f"/engines/local/containers/{cid}/processes/").content.decode()
    )


@pytest.mark.django_db
def test_a_removed_containers_fragment_stops_asking(make_container, docker_api, admin_user):
    cid = make_container()["Id"]
    client = Client()
    client.force_login(admin_user)
    docker_api.remove_container(cid, force=True)
    settle_model(cid, gone=True)
    fragment = client.get(f"/engines/local/containers/{cid}/processes/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "no longer exists" in text(fragment)
    assert "hx-get" not in fragment.content.decode()


# -- the engine going away --------------------------------------------------------------------


@pytest.fixture
def proxied_portal(tmp_path, docker_api, test_image):
    """A real portal (Daphne) reaching the engine through a forwarder a test can cut."""
    proxy = RequestProxy(tmp_path / "engine.sock")
    proxy.start()
    (tmp_path / "data").mkdir()
    portal, process = start_portal(tmp_path / "data", {"DOCKER_HOST": proxy.address})
    yield portal, proxy
    stop_portal(process)
    proxy.stop()


async def test_stats_say_the_engine_is_away_and_go_on_when_it_is_back(
    proxied_portal, make_container
):
    portal, proxy = proxied_portal
    cid = make_container(BURN)["Id"]
    http = await asyncio.to_thread(portal.session)
    url = portal.url.replace("http://", "ws://") + f"/engines/local/ws/containers/{cid}/stats/"
    cookie = {"Cookie": f"sessionid={http.cookies['sessionid']}"}
    async with connect(url, origin=portal.url, additional_headers=cookie, proxy=None) as socket:
        got: list[dict] = []

        async def until(wanted, what: str) -> None:
            async with asyncio.timeout(30):
                while not wanted():
                    got.append(json.loads(await socket.recv()))

        await until(lambda: any(m["type"] == "sample" for m in got), "a sample")
        await asyncio.to_thread(proxy.stop)
        await until(lambda: got[-1].get("state") == "engine-down", "the engine-down state")
        assert proxy.address in got[-1]["reason"]
        # The pages still answer, and say why there is nothing to show.
        fragment = await asyncio.to_thread(
            http.get,
            f"{portal.url}/engines/local/containers/{cid}/processes/",
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 200
        assert "can't be read while the engine is unavailable" in fragment.text
        page = await asyncio.to_thread(
            http.get, f"{portal.url}/engines/local/containers/{cid}/stats/"
        )
        assert page.status_code == 200

        down_at = len(got)
        await asyncio.to_thread(proxy.start)
        await until(lambda: any(m["type"] == "sample" for m in got[down_at:]), "samples again")
        assert [m["state"] for m in got[down_at:] if m["type"] == "state"] == ["running"]


@pytest.mark.parametrize(("tab", "back"), [("stats", "sample"), ("logs", "stream")])
async def test_a_socket_opened_while_the_engine_is_away_follows_once_it_is_back(
    proxied_portal, make_container, tab, back
):
    # The path every socket following a container shares (containers/container_socket.py):
    # accepted while the engine can't name the container, then following once it can.
    portal, proxy = proxied_portal
    cid = make_container(BURN)["Id"]
    http = await asyncio.to_thread(portal.session)
    url = portal.url.replace("http://", "ws://") + f"/engines/local/ws/containers/{cid}/{tab}/"
    cookie = {"Cookie": f"sessionid={http.cookies['sessionid']}"}
    await asyncio.to_thread(proxy.stop)
    async with connect(url, origin=portal.url, additional_headers=cookie, proxy=None) as socket:
        got: list[dict] = []

        async def until(wanted, what: str) -> None:
            async with asyncio.timeout(30):
                while not wanted():
                    message = await socket.recv()
                    if isinstance(message, str):  # the Logs tab's binary frames are log bytes
                        got.append(json.loads(message))

        await until(lambda: any(m.get("state") == "engine-down" for m in got), "engine-down")
        assert not any(m["type"] == back for m in got)
        await asyncio.to_thread(proxy.start)
        await until(lambda: any(m["type"] == back for m in got), f"a {back} once it is back")
