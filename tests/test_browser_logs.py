"""The live log viewer in real Chromium: following, streams, colours, escaping, timestamps,
find, scroll-to-pause, download, and a fast logger that must not freeze the tab."""

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.conftest import login, start_portal, stop_portal

pytestmark = pytest.mark.browser

# Prints, then idles until stopped (trapping TERM so cleanup is quick).
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"


def shell(script):
    return ("sh", "-c", script)


def open_logs(page, portal, container_id):
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
    expect(page.locator("[data-log-status]")).to_have_text("Following")
    return page.locator("[data-log-output]")


def test_logs_tab_shows_lines_printed_after_page_opened(
    admin_page, portal, docker_api, make_container
):
    container = make_container(shell(f"echo first-line; {IDLE}"))
    output = open_logs(admin_page, portal, container["Id"])
    expect(output.locator(".line", has_text="first-line")).to_have_count(1)

    marker = f"marker-{uuid.uuid4().hex[:8]}"
    # Written to PID 1's stdout from outside: exactly what the container itself would log.
    exec_id = docker_api.exec_create(container["Id"], ["sh", "-c", f"echo {marker} > /proc/1/fd/1"])
    docker_api.exec_start(exec_id)
    expect(output.locator(".line", has_text=marker)).to_have_count(1, timeout=3000)


def test_last_line_without_newline_is_shown_when_container_stops(
    admin_page, portal, docker_api, make_container
):
    container = make_container(shell("echo full-line; printf 'no-newline-at-exit'"))
    docker_api.wait(container["Id"], timeout=10)
    page = admin_page
    page.goto(f"{portal.url}/engines/local/containers/{container['Id']}/")
    expect(page.locator("[data-log-status]")).to_contain_text("Container stopped")
    expect(page.locator("[data-log-output] .line")).to_have_text(
        ["full-line", "no-newline-at-exit"]
    )


def test_stderr_colours_and_markup_are_rendered_safely(admin_page, portal, make_container):
    page = admin_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    script = (
        "echo plain-stdout; echo oops-on-stderr >&2; "
        r"printf '\033[31mred\033[0m after-colour\n'; "
        "echo '<img src=x onerror=alert(1)> <b>bold</b>'; " + IDLE
    )
    container = make_container(shell(script))
    output = open_logs(page, portal, container["Id"])

    expect(output.locator(".line.stderr")).to_have_text("oops-on-stderr")
    expect(output.locator(".line", has_text="plain-stdout")).not_to_have_class(
        re.compile(r"stderr")
    )

    red = output.locator("span.ansi-fg-31")
    expect(red).to_have_text("red")
    expect(output.locator(".line", has_text="after-colour")).to_have_text("red after-colour")

    markup = output.locator(".line", has_text="onerror")
    expect(markup).to_have_text("<img src=x onerror=alert(1)> <b>bold</b>")
    assert output.locator("img, b").count() == 0
    assert dialogs == []


def test_timestamps_checkbox_shows_time_elements(admin_page, portal, make_container):
    page = admin_page
    container = make_container(shell(f"echo stamped-line; {IDLE}"))
    output = open_logs(page, portal, container["Id"])
    line = output.locator(".line", has_text="stamped-line")
    expect(line).to_have_count(1)
    expect(output.locator("time")).to_have_count(0)

    page.get_by_label("Timestamps").check()
    # Shown to the millisecond; the engine's full RFC 3339 stamp stays in datetime/title.
    expect(line.locator("time")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")
    )
    expect(line.locator("time")).to_have_attribute(
        "datetime", re.compile(r"T\d\d:\d\d:\d\d\.\d+Z$")
    )
    expect(line).to_contain_text("stamped-line")
    expect(page.locator("[data-log-download]")).to_have_attribute(
        "href", re.compile(r"timestamps=1")
    )


def test_find_in_log_counts_matches(admin_page, portal, make_container):
    page = admin_page
    script = "for w in apple banana apple cherry apple; do echo fruit-$w; done; " + IDLE
    container = make_container(shell(script))
    output = open_logs(page, portal, container["Id"])
    expect(output.locator(".line")).to_have_count(5)

    page.get_by_label("Find in log").fill("APPLE")
    expect(page.locator("[data-log-find-count]")).to_have_text("3 matches")
    expect(output.locator(".line.match")).to_have_count(3)
    page.get_by_label("Find in log").fill("cherry")
    expect(page.locator("[data-log-find-count]")).to_have_text("1 match")
    page.get_by_label("Find in log").fill("")
    expect(output.locator(".line.match")).to_have_count(0)


def test_scrolling_up_pauses_follow_and_follow_button_resumes(admin_page, portal, make_container):
    page = admin_page
    # A screenful of history, then a new line every 0.1 s.
    script = "seq 1 500; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.1; done"
    container = make_container(shell(script))
    output = open_logs(page, portal, container["Id"])
    follow = page.locator("[data-log-follow]")
    expect(output.locator(".line", has_text="tick-")).not_to_have_count(0)
    expect(follow).to_be_hidden()

    output.hover()
    page.mouse.wheel(0, -3000)
    expect(follow).to_be_visible()
    # New lines keep arriving but the view stays where the reader put it.
    expect(page.locator("[data-log-new]")).not_to_have_text("0")
    expect(page.locator("[data-log-new]")).not_to_have_text(re.compile(r"^[0-3]$"))
    distance = output.evaluate("o => o.scrollHeight - o.scrollTop - o.clientHeight")
    assert distance > 500, "the view jumped back to the bottom while paused"

    follow.click()
    expect(follow).to_be_hidden()
    page.wait_for_function(
        "o => o.scrollHeight - o.scrollTop - o.clientHeight < 24", arg=output.element_handle()
    )


def test_download_gives_whole_log_as_file(admin_page, portal, make_container):
    page = admin_page
    script = "for i in 1 2 3; do echo download-line-$i; done; echo on-stderr-too >&2; " + IDLE
    container = make_container(shell(script))
    output = open_logs(page, portal, container["Id"])
    expect(output.locator(".line")).to_have_count(4)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename.startswith(container["Name"].lstrip("/"))
    assert download.suggested_filename.endswith(".log")
    with open(download.path(), encoding="utf-8") as saved:
        content = saved.read()
    for expected in ("download-line-1", "download-line-2", "download-line-3", "on-stderr-too"):
        assert expected in content


def test_fast_logger_keeps_page_responsive_and_lines_capped(
    page, tmp_path, docker_api, make_container
):
    cap = 2000
    small_portal, process = start_portal(tmp_path, {"DOCKERWEB_LOG_LINES_KEPT": str(cap)})
    try:
        page.set_default_timeout(10_000)
        login(page, small_portal)
        # Bursts of 500 lines every 0.1 s: about 5,000 lines a second.
        script = "i=0; while true; do seq $i $((i+499)); i=$((i+500)); sleep 0.1; done"
        container = make_container(
            shell(script),
            host_config={"log_config": {"type": "json-file", "config": {"max-size": "20m"}}},
        )
        output = open_logs(page, small_portal, container["Id"])
        viewer = page.locator("[data-log-viewer]")
        expect(viewer).to_have_attribute("data-max-lines", str(cap))
        # The most lines ever on the page after any change, however fast they come.
        output.evaluate(
            """o => {
                const lines = o.getElementsByClassName("line");
                window.maxLines = lines.length;
                new MutationObserver(() => {
                    window.maxLines = Math.max(window.maxLines, lines.length);
                }).observe(o, { childList: true, subtree: true });
            }"""
        )
        expect(viewer).to_have_attribute("data-lines", str(cap))
        received = page.evaluate("document.querySelector('[data-log-viewer]').logViewer.stats")
        # Streaming goes on; the page answers meanwhile.
        # A function, not an expression string: Playwright would eval() that in the page,
        # which the Content-Security-Policy refuses.
        page.wait_for_function(
            "n => document.querySelector('[data-log-viewer]').logViewer.stats.lines > n",
            arg=received["lines"] + 5000,
        )
        started = time.monotonic()
        assert page.evaluate("1 + 1") == 2
        assert time.monotonic() - started < 2.0
        assert page.evaluate("window.maxLines") <= cap
        assert output.locator(".line").count() <= cap

        started = time.monotonic()
        page.get_by_role("link", name="Overview", exact=True).click()
        expect(page.get_by_role("heading", name="General")).to_be_visible(timeout=3000)
        assert time.monotonic() - started < 3.0
    finally:
        stop_portal(process)


def test_a_million_lines_leave_the_newest_in_order_and_the_page_bounded(
    page, tmp_path, docker_api, make_container
):
    # How long the main thread blocks meanwhile is a benchmark figure (bench/logs_stream.py);
    # here: what the page keeps, and that nothing it keeps is lost or out of order.
    cap, total = 2000, 1_000_000
    # No byte budget to speak of: the lines come as fast as the engine sends them.
    env = {"DOCKERWEB_LOG_LINES_KEPT": str(cap), "DOCKERWEB_STREAM_BYTES_PER_USER": "1000000000"}
    small_portal, process = start_portal(tmp_path, env)
    try:
        page.set_default_timeout(10_000)
        login(page, small_portal)
        script = f"echo ready; while [ ! -e /go ]; do sleep 0.05; done; seq 1 {total}; {IDLE}"
        container = make_container(shell(script))
        output = open_logs(page, small_portal, container["Id"])
        expect(output.locator(".line")).to_have_text(["ready"])
        tail = page.get_by_label("Lines to load")
        tail.fill(str(total))  # the tab asks for a million: the server sends what it keeps
        tail.dispatch_event("change")
        expect(page.locator("[data-log-note]")).to_contain_text(f"at most the last {cap} lines")
        expect(output.locator(".line")).to_have_text(["ready"])
        output.evaluate(
            """o => {
                const lines = o.getElementsByClassName("line");
                window.maxLines = lines.length;
                new MutationObserver(() => {
                    window.maxLines = Math.max(window.maxLines, lines.length);
                }).observe(o, { childList: true, subtree: true });
            }"""
        )

        stats = "document.querySelector('[data-log-viewer]').logViewer.stats.lines"
        before = page.evaluate(stats)
        exec_id = docker_api.exec_create(container["Id"], ["touch", "/go"])
        docker_api.exec_start(exec_id)
        expect(output.locator(".line").last).to_have_text(str(total), timeout=90_000)
        # In a flood the newest lines show first, the older ones the page keeps then fill in.
        expect(page.locator("[data-log-viewer]")).to_have_attribute("data-lines", str(cap))

        shown = output.locator(".line").all_text_contents()
        assert shown == [str(n) for n in range(total - cap + 1, total + 1)]
        assert page.evaluate("window.maxLines") <= cap
        assert page.evaluate(stats) - before == total  # every line counted, most never decoded
    finally:
        stop_portal(process)
