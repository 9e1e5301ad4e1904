"""Container pages in real Chromium: login, the live sidebar and table, lifecycle buttons,
a second session following along, and the Overview tab."""

import re

import docker
import pytest
from playwright.sync_api import expect

from tests import engine as eng
from tests.conftest import login

pytestmark = pytest.mark.browser

# PID 1 ignores SIGTERM unless it traps it: without the trap every Stop would wait 10 s.
STOPPABLE = ("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait")


def sidebar_item(page, container_id):
    return page.locator(f'#sidebar-list [data-container-id="{container_id}"]')


def table_row(page, container_id):
    return page.locator(f'#container-rows [data-container-id="{container_id}"]')


def state_badge(page):
    return page.locator("#container-header [data-state-label]")


def wait_live(page):
    """The page's live socket is open: engine events reach it from now on."""
    expect(page.locator("body")).to_have_attribute("data-live", "connected")


def engine_state(docker_api, container_id):
    return docker_api.inspect_container(container_id)["State"]


def test_login_with_username_and_password_reaches_container_list(page, portal):
    page.goto(f"{portal.url}/engines/local/containers/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(portal.admin_password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/engines/local/containers/$"))
    expect(page.get_by_role("heading", name="Containers", exact=True).first).to_be_visible()
    expect(page.locator(".topbar .who")).to_have_text("admin")


def test_wrong_password_shows_error_and_stays_on_login(page, portal):
    page.goto(f"{portal.url}/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/login/$"))
    assert "sessionid" not in {c["name"] for c in page.context.cookies()}


def test_container_started_with_cli_appears_and_disappears_live(admin_page, portal, docker_api):
    page = admin_page
    page.goto(f"{portal.url}/engines/local/containers/")
    wait_live(page)
    name = eng.unique_name()
    # The sidebar shows a window of the engine's containers by name: filtered by the new
    # name, the window is where it must appear (the table shows the newest first anyway).
    page.get_by_role("searchbox", name="Filter containers").fill(name)
    expect(page.locator("#sidebar-list [data-empty]")).to_be_visible()
    created = docker_api.create_container(
        eng.TEST_IMAGE, command=list(STOPPABLE), name=name, labels=eng.TEST_LABELS
    )
    container_id = created["Id"]
    try:
        docker_api.start(container_id)
        # Measured from here: the engine's event must reach the page within a second.
        expect(sidebar_item(page, container_id)).to_be_visible(timeout=1000)
        expect(sidebar_item(page, container_id)).to_have_attribute(
            "data-state", "running", timeout=1000
        )
        expect(sidebar_item(page, container_id)).to_contain_text(name)
        expect(table_row(page, container_id)).to_be_visible(timeout=1000)
        expect(table_row(page, container_id)).to_have_attribute("data-state", "running")
        expect(table_row(page, container_id)).to_contain_text(name)
    finally:
        docker_api.remove_container(container_id, force=True)
    expect(sidebar_item(page, container_id)).to_have_count(0, timeout=2000)
    expect(table_row(page, container_id)).to_have_count(0, timeout=2000)


def test_stop_and_start_buttons_change_engine_state(admin_page, portal, docker_api, make_container):
    page = admin_page
    container = make_container(STOPPABLE)
    container_id = container["Id"]
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
    wait_live(page)
    expect(state_badge(page)).to_have_text("running")

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(state_badge(page)).to_have_text("exited")
    assert engine_state(docker_api, container_id)["Status"] == "exited"
    expect(sidebar_item(page, container_id)).to_have_attribute("data-state", "exited")
    expect(page.locator(".message.success")).to_contain_text("Stopped")

    page.get_by_role("button", name="Start", exact=True).click()
    expect(state_badge(page)).to_have_text("running")
    assert engine_state(docker_api, container_id)["Running"] is True
    expect(sidebar_item(page, container_id)).to_have_attribute("data-state", "running")


def test_restart_button_restarts_container(admin_page, portal, docker_api, make_container):
    page = admin_page
    container = make_container(STOPPABLE)
    container_id = container["Id"]
    started_before = container["State"]["StartedAt"]
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
    wait_live(page)

    page.get_by_role("button", name="Restart", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("Restarted")
    state = engine_state(docker_api, container_id)
    assert state["Running"] is True
    assert state["StartedAt"] != started_before
    expect(state_badge(page)).to_have_text("running")
    expect(sidebar_item(page, container_id)).to_have_attribute("data-state", "running")


def test_remove_button_asks_first_then_removes(admin_page, portal, docker_api, make_container):
    page = admin_page
    container = make_container(STOPPABLE)
    container_id = container["Id"]
    name = container["Name"].lstrip("/")
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
    wait_live(page)

    page.locator("#container-header").get_by_role("link", name="Remove", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/engines/local/containers/{container_id}/remove/$"))
    confirm = page.locator("section.confirm")
    expect(confirm.get_by_role("heading")).to_have_text(f"Remove {name}?")
    expect(confirm).to_contain_text("What will be lost")
    expect(confirm).to_contain_text("Its logs.")
    expect(confirm).to_contain_text("it will be killed first")
    # Nothing is removed by merely asking.
    assert engine_state(docker_api, container_id)["Running"] is True

    confirm.get_by_role("button", name="Remove", exact=True).click()
    expect(page).to_have_url(re.compile(r"/engines/local/containers/$"))
    expect(page.locator(".message.success")).to_contain_text(f"Removed {name}")
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(container_id)
    expect(sidebar_item(page, container_id)).to_have_count(0)
    expect(table_row(page, container_id)).to_have_count(0)


def test_second_session_sees_stop_live(admin_page, portal, browser, docker_api, make_container):
    container = make_container(STOPPABLE)
    container_id = container["Id"]
    url = f"{portal.url}/engines/local/containers/{container_id}/"
    other_context = browser.new_context()
    try:
        watcher = other_context.new_page()
        watcher.set_default_timeout(10_000)
        login(watcher, portal)
        watcher.goto(url)
        wait_live(watcher)
        expect(state_badge(watcher)).to_have_text("running")
        expect(sidebar_item(watcher, container_id)).to_have_attribute("data-state", "running")

        admin_page.goto(url)
        admin_page.get_by_role("button", name="Stop", exact=True).click()
        expect(state_badge(admin_page)).to_have_text("exited")

        # The watching session was not reloaded: its sidebar and header follow the event.
        expect(sidebar_item(watcher, container_id)).to_have_attribute(
            "data-state", "exited", timeout=3000
        )
        expect(state_badge(watcher)).to_have_text("exited", timeout=3000)
        header = watcher.locator("#container-header")
        expect(header.get_by_role("button", name="Start", exact=True)).to_be_visible()
        assert not watcher.locator(".message.success").count(), "the watcher page was reloaded"
    finally:
        other_context.close()


def test_overview_hides_env_values_and_links_published_port(admin_page, portal, make_container):
    page = admin_page
    host_port = eng.free_port()
    container = make_container(
        STOPPABLE,
        environment={"API_TOKEN": "s3cret-value-42"},
        ports=[80],
        host_config={"port_bindings": {80: host_port}},
    )
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/overview/")

    env_table = page.get_by_role("table", name="Environment variables")
    expect(env_table).to_contain_text("API_TOKEN")
    # The value is not in the page at all until asked for (and the asking is audited).
    assert "s3cret-value-42" not in page.content()
    page.get_by_role("link", name="Show values").click()
    expect(env_table.get_by_text("s3cret-value-42")).to_be_visible()
    expect(page.get_by_role("link", name="Hide values")).to_be_visible()

    link = page.locator("a.port-link").first
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("href", f"http://127.0.0.1:{host_port}/")


def test_open_page_says_removed_when_container_is_removed_elsewhere(
    admin_page, portal, docker_api, make_container
):
    page = admin_page
    container = make_container(STOPPABLE)
    container_id = container["Id"]
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
    wait_live(page)
    expect(state_badge(page)).to_have_text("running")

    docker_api.remove_container(container_id, force=True)
    expect(sidebar_item(page, container_id)).to_have_count(0)
    expect(state_badge(page)).to_have_text("removed")
    expect(page.locator("#container-header")).to_contain_text(container["Name"].lstrip("/"))
    # No buttons left that could only fail now.
    expect(page.locator("#container-header").get_by_role("button")).to_have_count(0)
    expect(page.locator("[data-log-status]")).to_have_text("Container removed")


@pytest.mark.browser
def test_kill_asks_first_and_says_what_is_lost(admin_page, portal, docker_api, make_container):
    page = admin_page
    container = make_container(STOPPABLE)
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()  # the first time, the user changes their mind
        else:
            dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="Kill", exact=True).click()
    expect(page.get_by_role("button", name="Kill", exact=True)).to_be_visible()
    assert "SIGKILL" in asked[0]
    assert docker_api.inspect_container(container["Id"])["State"]["Running"], (
        "killed without asking"
    )

    page.get_by_role("button", name="Kill", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("Killed")
    assert not docker_api.inspect_container(container["Id"])["State"]["Running"]
