"""When the engine goes away every page still answers quickly, says so, and recovers by itself.

A real portal (Daphne) talks to the real engine through a unix-socket forwarder; stopping the
forwarder removes the socket and drops every open connection, as a dying engine does.
"""

import asyncio
import html
import json
import re
import socket
import time

import pytest
import requests
from websockets.asyncio.client import connect

from dockerweb import gateway
from tests.conftest import start_portal, stop_portal
from tests.engine import wait_for
from tests.socket_proxy import SocketProxy

PAGE_BUDGET = 3.0  # seconds a page may take while the engine is down
CHATTY = ("sh", "-c", "i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.05; done")
BANNER = re.compile(r'<div id="engine-banner"([^>]*)>(.*?)</div>', re.S)
LINE_NUMBER = re.compile(rb"line-(\d+)\n")


@pytest.fixture(scope="module")
def engine_proxy(tmp_path_factory):
    proxy = SocketProxy(tmp_path_factory.mktemp("engine") / "docker.sock")
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def proxied_portal(engine_proxy, docker_api, test_image, tmp_path_factory):
    portal, process = start_portal(
        tmp_path_factory.mktemp("data"), {"DOCKER_HOST": engine_proxy.address}
    )
    yield portal
    stop_portal(process)


@pytest.fixture
def proxy(engine_proxy):
    """The forwarder, serving when the test starts and again when it ends (even on failure)."""
    if not engine_proxy.running:
        engine_proxy.start()
    yield engine_proxy
    if not engine_proxy.running:
        engine_proxy.start()


def banner(page: str) -> tuple[bool, str]:
    """(shown, text) of the #engine-banner in a rendered page."""
    found = BANNER.search(page)
    assert found, "the page has no engine banner"
    return "hidden" not in found.group(1), found.group(2)


def timed_get(http: requests.Session, url: str) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = http.get(url, timeout=PAGE_BUDGET + 5)
    return response, time.monotonic() - started


def test_every_page_answers_quickly_with_the_banner_while_down_and_recovers(
    proxy, proxied_portal, make_container, docker_api
):
    container = make_container()
    cid, name = container["Id"], container["Name"].lstrip("/")
    http = proxied_portal.session()
    url = proxied_portal.url
    # The portal (its own process) learns of the container from the engine's events: on a
    # busy machine a moment after make_container returns.
    wait_for(
        lambda: name in http.get(f"{url}/engines/local/containers/", timeout=10).text,
        timeout=30,
        message="the portal to list the container",
    )

    proxy.stop()
    down_message = html.escape(f"Docker engine at {proxy.address} is unavailable")
    reason = html.escape("no socket at that path")
    pages = [
        "/engines/local/containers/",
        "/engines/local/containers/?state=running",
        "/engines/local/containers/new/",
        "/engines/local/containers/new/advanced/",
        f"/engines/local/containers/{cid}/",
        f"/engines/local/containers/{cid}/overview/",
        f"/engines/local/containers/{cid}/inspect/",
        f"/engines/local/containers/{cid}/remove/",
        "/engines/local/audit/",
        "/login/",  # a logged-in user is sent on to the container list
    ]
    for path in pages:
        response, took = timed_get(http, url + path)
        assert response.status_code == 200, (path, response.status_code)
        assert took < PAGE_BUDGET, f"{path} took {took:.2f}s while the engine was down"
        shown, text = banner(response.text)
        assert shown, f"{path}: banner hidden"
        assert down_message in text and reason in text, (path, text)

    response, took = timed_get(http, f"{url}/engines/local/containers/sidebar/")
    assert response.status_code == 200 and took < PAGE_BUDGET
    assert down_message in response.text and reason in response.text

    anonymous, took = timed_get(requests.Session(), f"{url}/login/")
    assert anonymous.status_code == 200 and took < PAGE_BUDGET

    started = time.monotonic()
    stopped = http.post(
        f"{url}/engines/local/containers/{cid}/stop/",
        data={"csrfmiddlewaretoken": http.cookies["csrftoken"], "name": name},
        timeout=PAGE_BUDGET + 5,
    )
    assert time.monotonic() - started < PAGE_BUDGET
    assert stopped.status_code == 200, stopped.status_code
    assert stopped.url.endswith(f"/engines/local/containers/{cid}/")
    assert re.search(r'class="message error">[^<]*' + re.escape(down_message), stopped.text)
    assert docker_api.inspect_container(cid)["State"]["Running"], "stop must not have happened"

    proxy.start()
    back = http.get(f"{url}/engines/local/containers/", timeout=10)
    assert back.status_code == 200
    shown, _ = banner(back.text)
    assert not shown, "the banner stays up after the engine came back"
    assert f'data-container-id="{cid}"' in back.text and name in back.text
    detail = http.get(f"{url}/engines/local/containers/{cid}/", timeout=10)
    assert not banner(detail.text)[0] and f"<h1>{html.escape(name)}</h1>" in detail.text
    audit = http.get(f"{url}/engines/local/audit/", timeout=10).text
    assert re.search(r"container\.stop</td><td>[^<]*</td><td>Failed", audit)


# -- live sockets -------------------------------------------------------------------------


def ws_connect(portal, http: requests.Session, path: str):
    return connect(
        portal.url.replace("http://", "ws://") + path,
        origin=portal.url,
        additional_headers={"Cookie": f"sessionid={http.cookies['sessionid']}"},
        proxy=None,
        open_timeout=10,
    )


async def receive_until(ws, wanted, *, timeout: float, what: str, seen: list | None = None):
    """Receive until `wanted(message)` is true (JSON text frames decoded); returns it."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None
        message = json.loads(raw) if isinstance(raw, str) else raw
        if seen is not None:
            seen.append(message)
        if wanted(message):
            return message


def engine_message(up: bool):
    return lambda m: isinstance(m, dict) and m.get("type") == "engine" and m["up"] is up


async def test_live_socket_says_engine_down_and_up_again(proxy, proxied_portal):
    http = proxied_portal.session()
    async with ws_connect(proxied_portal, http, "/engines/local/ws/live/") as live:
        await receive_until(live, engine_message(True), timeout=10, what="engine up")
        await asyncio.to_thread(proxy.stop)
        down = await receive_until(live, engine_message(False), timeout=10, what="engine down")
        assert down["address"] == proxy.address
        assert "no socket at that path" in down["reason"]
        await asyncio.to_thread(proxy.start)
        await receive_until(live, engine_message(True), timeout=15, what="engine up again")


def line_numbers(frames: list) -> list[int]:
    data = b"".join(f for f in frames if isinstance(f, bytes))
    return [int(n) for n in LINE_NUMBER.findall(data)]


async def test_log_socket_resumes_with_new_lines_after_engine_comes_back(
    proxy, proxied_portal, make_container
):
    container = make_container(CHATTY)
    http = proxied_portal.session()
    path = f"/engines/local/ws/containers/{container['Id']}/logs/?tail=5"
    async with ws_connect(proxied_portal, http, path) as logs:
        before: list = []
        await receive_until(
            logs, lambda m: line_numbers(before), timeout=10, what="first lines", seen=before
        )
        await asyncio.to_thread(proxy.stop)
        down = await receive_until(
            logs,
            lambda m: isinstance(m, dict) and m.get("type") == "state",
            timeout=10,
            what="engine-down state",
            seen=before,
        )
        assert down["state"] == "engine-down"
        assert proxy.address in down["reason"]
        last_before = max(line_numbers(before))

        await asyncio.to_thread(proxy.start)
        after: list = []
        reopened = await receive_until(
            logs,
            lambda m: isinstance(m, dict) and m.get("type") == "stream",
            timeout=15,
            what="the stream to reopen",
            seen=after,
        )
        assert reopened["multiplexed"] is True
        after.clear()
        await receive_until(
            logs,
            lambda m: any(n > last_before + 5 for n in line_numbers(after)),
            timeout=10,
            what="new lines after the engine came back",
            seen=after,
        )
        numbers = line_numbers(after)
        # Only what was logged after the old stream ended: nothing from before is repeated.
        assert min(numbers) > last_before, (last_before, numbers[:5])


# -- in process ---------------------------------------------------------------------------


@pytest.fixture
def dead_engine(settings, tmp_path):
    """DOCKER_HOST at a socket nobody listens on (connection refused)."""
    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    settings.DOCKER_HOST = f"unix://{path}"
    yield settings.DOCKER_HOST
    gateway.reset()


def test_container_list_with_a_dead_engine_socket_shows_the_banner(admin_client, dead_engine):
    started = time.monotonic()
    response = admin_client.get("/engines/local/containers/")
    assert time.monotonic() - started < PAGE_BUDGET
    assert response.status_code == 200
    shown, text = banner(response.content.decode())
    assert shown
    assert html.escape(f"Docker engine at {dead_engine} is unavailable") in text
    assert "connection refused" in text
