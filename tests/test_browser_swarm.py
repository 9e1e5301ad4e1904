"""Swarm in Chromium (issue 11's acceptance): create a service with 2 replicas, scale it to 3
and see 3 running tasks, update its image and roll it back, read its logs live.

The portal runs with two engines declared (DOCKERWEB_ENGINES): the main one and the
session's swarm manager ("swarm", tests/extra_dockerd.py), never a swarm on the main engine.
"""

import os
import re

import pytest
from playwright.sync_api import expect

from tests import engine as eng
from tests.conftest import login, start_portal, stop_portal

LABEL_LINES = "\n".join(f"{key}={value}" for key, value in eng.TEST_LABELS.items())
SECOND_TAG = f"dwt-swarm-browser:{eng.SESSION}"
# A line every 0.2 s; it ends at once when the swarm stops its task (no 10 s grace period).
TICKER = "sh -c 'trap \"exit 0\" TERM; while true; do echo tick-$(hostname); sleep 0.2; done'"


@pytest.fixture(scope="module")
def swarm_portal(swarm_dockerd, tmp_path_factory):
    local = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    engines = f"local={local},swarm={swarm_dockerd.unix_address}"
    portal, process = start_portal(
        tmp_path_factory.mktemp("swarm-portal"), {"DOCKERWEB_ENGINES": engines}
    )
    yield portal
    stop_portal(process)


@pytest.fixture
def swarm(swarm_dockerd):
    """The swarm engine's own client; the services made in the test are removed after."""
    client = swarm_dockerd.client()
    yield client
    for service in client.services(filters={"label": f"{eng.LABEL_KEY}={eng.SESSION}"}):
        client.remove_service(service["ID"])


def _running_rows(page):
    return page.locator('[data-task-row][data-task-state="running"][data-task-desired="running"]')


def _expect_running(page, swarm, name: str, count: int) -> None:
    """`count` running tasks on the page (as it updates itself); if not, what the engine says."""
    try:
        expect(_running_rows(page)).to_have_count(count, timeout=60_000)
    except AssertionError:
        tasks = swarm.tasks(filters={"service": name})
        states = [(t["Status"]["State"], t["DesiredState"], t["Status"].get("Err")) for t in tasks]
        raise AssertionError(
            f"not {count} running tasks on the page; the engine: {states}"
        ) from None


def test_a_service_is_created_scaled_updated_rolled_back_and_its_logs_read_live(
    page, context, swarm_portal, swarm
):
    page.set_default_timeout(20_000)
    login(page, swarm_portal)
    base = f"{swarm_portal.url}/engines/swarm/swarm/"
    name = eng.unique_name("dwt-web").replace("_", "-")
    swarm.tag(eng.TEST_IMAGE, *SECOND_TAG.split(":"))

    # Another viewer keeps the overview open: it follows every change without a reload.
    watcher = context.new_page()
    watcher.set_default_timeout(30_000)
    watcher.goto(base)
    expect(watcher.get_by_role("table", name="Nodes")).to_contain_text("manager")
    watcher.evaluate("window.notReloaded = true")

    page.goto(base)
    page.get_by_role("link", name="New service").click()
    page.get_by_label("Image").fill(eng.TEST_IMAGE)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Replicas").fill("2")
    page.get_by_label("Command").fill(TICKER)
    page.get_by_label("Labels").fill(LABEL_LINES)
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/engines/swarm/swarm/services/\w+/$"))
    _expect_running(page, swarm, name, 2)

    # Live logs: lines keep coming while the page stays.
    log = page.get_by_role("log", name="Log output")
    expect(log).to_contain_text("tick-")
    viewer = page.locator("[data-log-viewer]")
    lines = int(viewer.get_attribute("data-lines") or 0)
    eng.wait_for(lambda: int(viewer.get_attribute("data-lines") or 0) > lines + 5, timeout=20)

    page.get_by_label("Replicas").fill("3")
    page.get_by_role("button", name="Scale").click()
    expect(page.locator(".messages")).to_contain_text("Scaled")
    _expect_running(page, swarm, name, 3)
    row = watcher.locator(f'[data-service-name="{name}"] [data-replicas]')
    expect(row).to_have_attribute("data-replicas", "3/3", timeout=60_000)

    page.get_by_label("Image", exact=True).fill(SECOND_TAG)
    page.get_by_role("button", name="Update", exact=True).click()
    expect(page.locator("[data-service-image]")).to_have_text(SECOND_TAG)
    # The rolling update replaces the tasks one by one: the page shows them come.
    tasks = page.get_by_role("table", name="Tasks")
    expect(tasks.locator("[data-task-row]", has_text=SECOND_TAG).first).to_be_visible()

    page.get_by_role("button", name="Roll back").click()
    expect(page.locator(".messages")).to_contain_text("Rolling")
    expect(page.locator("[data-service-image]")).to_have_text(eng.TEST_IMAGE)
    expect(page.locator("[data-update-state]")).to_have_attribute(
        "data-update-state", re.compile("^rollback")
    )
    spec = swarm.inspect_service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["Image"] == eng.TEST_IMAGE

    page.get_by_role("link", name="Remove").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator(".confirm")).to_contain_text("Its tasks")
    page.get_by_role("button", name="Remove").click()
    page.wait_for_url(base)
    expect(watcher.locator(f'[data-service-name="{name}"]')).to_have_count(0)
    assert watcher.evaluate("window.notReloaded") is True
    assert swarm.services(filters={"name": name}) == []
