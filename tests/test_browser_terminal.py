"""The Terminal tab in real Chromium on the real engine: a shell you type into, that follows the
window's size, and that leaves nothing running in the container once the page is gone; who
may not have one is told why and gets no socket, and a stopped container offers Start."""

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import login
from tests.engine import wait_for
from tests.test_browser_csp import ViolationWatch
from tests.users import OPERATOR_PERMISSIONS

pytestmark = pytest.mark.browser

IDLE = ("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait")
PASSWORD = "browser-terminal-pw-1"


def open_terminal(page, portal, container_id):
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/terminal/")
    expect(page.locator("[data-terminal-status]")).to_have_text("Connected: sh")
    return page.locator(".xterm-rows")


def run(page, rows, line: str, expected):
    """Type `line` into the terminal as a person would; wait until a row shows `expected`."""
    page.locator("[data-terminal-screen]").click()
    page.keyboard.type(line)
    page.keyboard.press("Enter")
    expect(rows.locator(":scope > div").filter(has_text=expected).first).to_be_visible()


def exec_ids(docker_api, container_id) -> list[str]:
    return docker_api.inspect_container(container_id)["ExecIDs"] or []


def none_running(docker_api, ids: list[str]) -> bool:
    """None of these execs runs, by the engine's exec inspect. (The container's ExecIDs alone
    can't say: the engine drops an exec from it the moment it ends, so an empty list is
    both "never started" and "ended".)"""
    return not any(docker_api.exec_inspect(exec_id)["Running"] for exec_id in ids)


def test_typing_echo_shows_42_without_a_policy_violation(
    admin_page, portal, make_container, docker_api
):
    watch = ViolationWatch(admin_page)
    container = make_container(IDLE)
    rows = open_terminal(admin_page, portal, container["Id"])
    run(admin_page, rows, "echo $((6*7))", re.compile(r"^42\s*$"))
    expect(rows.locator(":scope > div", has_text=re.compile(r"^42\s*$"))).to_have_count(1)
    # xterm.js's own styles are applied (mirrored: its <style> elements would be blocked).
    assert admin_page.evaluate("document.adoptedStyleSheets.length") > 0
    assert watch.all() == [], watch.all()


MARKERS = itertools.count()


def stty_size(page, rows) -> tuple[int, int]:
    """(rows, columns) as the shell sees them."""
    marker = f"size{next(MARKERS)}"
    run(page, rows, f"echo {marker} $(stty size)", re.compile(rf"{marker} \d+ \d+"))
    found = re.search(rf"{marker} (\d+) (\d+)", rows.inner_text())
    return int(found[1]), int(found[2])


def test_resizing_the_window_changes_stty_size(admin_page, portal, make_container):
    page = admin_page
    page.set_viewport_size({"width": 1400, "height": 900})
    container = make_container(IDLE)
    rows = open_terminal(page, portal, container["Id"])
    big = stty_size(page, rows)
    page.set_viewport_size({"width": 900, "height": 600})
    # The page follows the window (debounced), and the shell the terminal.
    wait_for(
        lambda: stty_size(page, rows) != big,
        timeout=15,
        interval=0.3,
        message="stty size to follow the window",
    )
    small = stty_size(page, rows)
    assert small[0] < big[0] and small[1] < big[1], (big, small)
    shown = page.evaluate("document.querySelector('.xterm-rows').children.length")
    assert small[0] == shown, (small, shown)  # the shell's rows are the rows on screen


def test_closing_the_page_ends_a_foreground_sleep(admin_page, portal, make_container, docker_api):
    container = make_container(IDLE)
    rows = open_terminal(admin_page, portal, container["Id"])
    run(admin_page, rows, "echo started; sleep 1000", "started")
    ps = ["ps"]

    def sleeping() -> bool:
        out = docker_api.exec_start(docker_api.exec_create(container["Id"], ps)["Id"]).decode()
        return "sleep 1000" in out

    wait_for(sleeping, message="the sleep to run")
    terminal_execs = exec_ids(docker_api, container["Id"])  # the shell's (and a ps ending)
    assert terminal_execs
    admin_page.close()
    # Ended by the portal when the socket goes; 10 s was too short with both xdist workers busy.
    wait_for(lambda: none_running(docker_api, terminal_execs), timeout=30, message="no exec")
    assert not sleeping()


@pytest.fixture
def operator(portal):
    portal.create_user("term-operator", PASSWORD, OPERATOR_PERMISSIONS)
    return "term-operator"


def test_an_operator_is_told_why_and_no_socket_or_exec_is_made(
    browser, portal, operator, make_container, docker_api
):
    container = make_container(IDLE)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        login(page, portal, operator, PASSWORD)
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/terminal/")
        note = page.locator("[data-terminal-none]")
        expect(note).to_contain_text("No terminal")
        expect(note).to_contain_text("administrators")
        expect(page.locator(".xterm")).to_have_count(0)
        expect(page.locator("body")).to_have_attribute("data-live", "connected")
        assert not [url for url in sockets if "/terminal/" in url], sockets
        assert exec_ids(docker_api, container["Id"]) == []
    finally:
        context.close()


def test_a_stopped_container_says_why_and_start_opens_the_terminal(
    admin_page, portal, make_container, docker_api
):
    page = admin_page
    container = make_container(IDLE, start=False)
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/terminal/")
    note = page.locator("[data-terminal-none]")
    expect(note).to_contain_text("The container is created")
    note.get_by_role("button", name="Start").click()
    expect(page.locator("[data-terminal-status]")).to_have_text("Connected: sh")
    assert docker_api.inspect_container(container["Id"])["State"]["Running"]


def test_the_shell_and_user_fields_reconnect_with_what_was_typed(
    admin_page, portal, make_container
):
    page = admin_page
    container = make_container(IDLE)
    rows = open_terminal(page, portal, container["Id"])
    page.get_by_label("Shell").select_option(label="Other command…")
    page.get_by_label("Command").fill("sh -i")
    page.get_by_label("User").fill("65534")
    page.get_by_role("button", name="Reconnect").click()
    expect(page.locator("[data-terminal-status]")).to_have_text("Connected: sh -i as 65534")
    run(page, rows, "id -u", re.compile(r"^65534\s*$"))
