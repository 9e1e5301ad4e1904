"""The Stats and Processes tabs in real Chromium: charts that move while the container burns
CPU, one engine stats stream (counted at the engine's socket) for three tabs, a stopped
container's Start, and a process table that refreshes by itself."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import login, start_portal, stop_portal
from tests.engine import wait_for
from tests.request_proxy import RequestProxy
from tests.test_browser_csp import ViolationWatch

pytestmark = pytest.mark.browser

BURN = ("sh", "-c", "while :; do :; done")
STATS_REQUEST = r"^/v[0-9.]+/containers/{}/stats\?"


def open_stats(page, portal, container_id):
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/stats/")
    expect(page.locator("[data-stats-status]")).to_have_text("Live")
    return page.locator("[data-stats-view]")


def cpu_percent(page) -> float:
    value = page.locator('[data-value="cpu"]').text_content()
    match = re.fullmatch(r"([0-9.]+) %", value or "")
    return float(match.group(1)) if match else 0.0


def test_the_stats_tab_draws_charts_whose_values_move_while_the_container_burns_cpu(
    admin_page, portal, make_container
):
    page = admin_page
    container = make_container(BURN)
    view = open_stats(page, portal, container["Id"])

    wait_for(lambda: cpu_percent(page) > 20, timeout=20, message="CPU above 20 %")
    expect(view).to_have_attribute("data-points", re.compile(r"^([2-9]|\d\d+)$"), timeout=15_000)
    # The chart holds those points, CPU among them, and draws them on its canvas.
    points = page.evaluate(
        "() => document.querySelector('[data-stats-view]').statsView.charts.cpu.plot.data[1]"
    )
    assert len(points) >= 2 and max(p for p in points if p is not None) > 20
    expect(page.locator('[data-chart="cpu"] canvas')).to_have_count(1)
    expect(page.locator('[data-value="mem"]')).to_have_text(re.compile(r" of .*B \("))
    expect(page.locator('[data-value="pids"]')).to_have_text(re.compile(r"^[1-9]"))

    # The values as text for screen readers, said once when asked.
    summary = page.locator("[data-stats-summary]")
    expect(summary).to_have_attribute("role", "status")
    expect(page.locator("[data-stats-values]")).to_have_attribute("aria-live", "off")
    page.get_by_role("button", name="Read values").click()
    expect(summary).to_contain_text(re.compile(r"CPU: [0-9.]+ %\. Memory: "))

    # The charts follow the page's width.
    before = page.evaluate("() => document.querySelector('[data-chart=cpu] canvas').width")
    page.set_viewport_size({"width": 900, "height": 800})
    page.wait_for_function(
        "w => document.querySelector('[data-chart=cpu] canvas').width !== w", arg=before
    )


def test_a_stopped_container_says_it_is_not_running_and_offers_start(
    admin_page, portal, make_container
):
    page = admin_page
    container = make_container(BURN, start=False)
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/stats/")
    stopped = page.locator("[data-stats-stopped]")
    expect(stopped).to_contain_text("isn't running")
    expect(page.locator("[data-stats-status]")).to_have_text("Container stopped")

    stopped.get_by_role("button", name="Start").click()
    expect(page.locator("[data-stats-status]")).to_have_text("Live")
    expect(stopped).to_be_hidden()
    expect(page.locator('[data-value="pids"]')).to_have_text(re.compile(r"^[1-9]"))


def test_three_tabs_on_one_containers_stats_hold_one_engine_stream(
    browser, tmp_path, make_container
):
    proxy = RequestProxy(tmp_path / "engine.sock")
    proxy.start()
    (tmp_path / "portal").mkdir()
    portal, process = start_portal(tmp_path / "portal", {"DOCKER_HOST": proxy.address})
    context = browser.new_context()
    try:
        container = make_container(BURN)
        cid = container["Id"]
        stats_request = STATS_REQUEST.format(cid)
        pages = []
        for _ in range(3):
            page = context.new_page()
            page.set_default_timeout(15_000)
            if not pages:
                login(page, portal)
            view = open_stats(page, portal, cid)
            expect(view).to_have_attribute("data-points", re.compile(r"^[1-9]"))
            pages.append(page)
        # Every tab gets samples, from one stream the engine serves.
        for page in pages:
            points = page.locator("[data-stats-view]").get_attribute("data-points")
            expect(page.locator("[data-stats-view]")).not_to_have_attribute("data-points", points)
        assert proxy.open_requests(stats_request) == 1
        assert proxy.requests(stats_request) == 1

        for page in pages[:2]:
            page.close()
        expect(pages[2].locator("[data-stats-view]")).not_to_have_attribute(
            "data-points", pages[2].locator("[data-stats-view]").get_attribute("data-points")
        )
        assert proxy.open_requests(stats_request) == 1
        pages[2].close()
        # The last viewer gone, the portal closes the engine stream shortly after.
        wait_for(
            lambda: proxy.open_requests(stats_request) == 0,
            timeout=15,
            message="the engine stats stream to close",
        )
        assert proxy.requests(stats_request) == 1
    finally:
        context.close()
        stop_portal(process)
        proxy.stop()


def test_the_processes_tab_shows_the_containers_processes_and_refreshes(
    admin_page, portal, docker_api, make_container
):
    page = admin_page
    container = make_container(("sleep", "4242"))
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/processes/")
    table = page.get_by_role("table", name="Processes in the container")
    expect(table.get_by_role("cell", name="sleep 4242")).to_have_count(1)
    expect(table.get_by_role("columnheader", name="PID", exact=True)).to_have_count(1)

    docker_api.exec_start(docker_api.exec_create(container["Id"], ["sleep", "5151"]), detach=True)
    # No reload: the table asks again by itself.
    expect(table.get_by_role("cell", name="sleep 5151")).to_have_count(1, timeout=15_000)
    expect(page.locator("[data-process-count]")).to_have_text("2")


# Seen after processes.js's own listener: what triggered each ask, and whether it was held.
RECORD_POLLS = """
() => {
  window.polls = [];
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!event.target.matches("[data-processes]")) return;
    const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    window.polls.push({ held: event.defaultPrevented, by: trigger ? trigger.type : "timer" });
  });
}
"""
HIDE = """
hidden => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""


def test_the_processes_table_is_not_asked_for_while_the_page_is_hidden(
    admin_page, portal, make_container
):
    page = admin_page
    container = make_container(("sleep", "4343"))
    path = f"/engines/local/containers/{container['Id']}/processes/"
    page.goto(portal.url + path)
    expect(page.get_by_role("cell", name="sleep 4343")).to_have_count(1)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith(path) else None)
    page.evaluate(RECORD_POLLS)

    page.evaluate(HIDE, True)
    page.wait_for_function("() => window.polls.length >= 2", timeout=15_000)
    assert all(poll["held"] for poll in page.evaluate("window.polls"))
    assert asked == [], "the hidden page asked for the table"

    page.evaluate(HIDE, False)  # shown again: asked for at once, not at the next tick
    page.wait_for_function("() => window.polls.some((p) => !p.held)", timeout=15_000)
    first = next(poll for poll in page.evaluate("window.polls") if not poll["held"])
    assert first["by"] == "refresh"
    wait_for(lambda: asked, timeout=10, message="the table to be asked for")


def test_the_tabs_run_without_a_policy_violation(admin_page, portal, make_container):
    page = admin_page
    watch = ViolationWatch(page)  # uPlot draws and sizes its charts under the strict CSP
    container = make_container(BURN)
    view = open_stats(page, portal, container["Id"])
    expect(view).to_have_attribute("data-points", re.compile(r"^([2-9]|\d\d+)$"), timeout=15_000)
    page.get_by_role("button", name="Read values").click()
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/processes/")
    expect(page.get_by_role("cell", name="sh -c while :; do :; done")).to_have_count(1)
    page.wait_for_function("() => document.readyState === 'complete'")
    assert watch.all() == []
