"""What a page shows when the stream cap is hit, or a log tail was cut, in real Chromium."""

import pytest
from playwright.sync_api import expect

from tests import engine as eng
from tests.conftest import login, start_portal, stop_portal

pytestmark = pytest.mark.browser

BOUND = 100


@pytest.fixture
def small_portal(tmp_path):
    """A portal where one stream is a user's cap, and a tab keeps BOUND lines."""
    portal, process = start_portal(
        tmp_path,
        {"DOCKERWEB_STREAMS_PER_USER": "1", "DOCKERWEB_LOG_LINES_KEPT": str(BOUND)},
    )
    yield portal
    stop_portal(process)


def start_failing_pull(portal) -> str:
    """A real job (a pull from a registry nobody serves), started by admin."""
    http = portal.session()
    response = http.post(
        f"{portal.url}/engines/local/images/pull/",
        data={
            "image": f"127.0.0.1:{eng.free_port()}/dwtest/none:1",
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        headers={"Referer": f"{portal.url}/engines/local/images/pull/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[-2000:]
    return response.headers["Location"]


def test_pages_past_the_stream_cap_say_so_and_a_cut_tail_says_where_the_rest_is(
    page, small_portal, make_container
):
    container = make_container(("sh", "-c", "seq 1 300; exec sleep 3600"))
    logs_url = f"{small_portal.url}/engines/local/containers/{container['Id']}/"
    page.set_default_timeout(10_000)
    login(page, small_portal)

    # The first tab streams: the default tail (1,000) is more than a tab keeps.
    page.goto(logs_url)
    expect(page.locator("[data-log-status]")).to_have_text("Following")
    lines = page.locator("[data-log-output] .line")
    expect(lines).to_have_count(BOUND)
    expect(lines.first).to_have_text("201")
    note = page.locator("[data-log-note]")
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"last {BOUND} lines")
    expect(note).to_contain_text("Download")

    # A second tab of the same user is past the cap: it says so, and stays saying so.
    second = page.context.new_page()
    second.set_default_timeout(10_000)
    second.goto(logs_url)
    status = second.locator("[data-log-status]")
    expect(status).to_contain_text("1 live stream open")
    second.wait_for_function(
        "document.querySelector('[data-log-viewer]').logViewer.socket.readyState === 3"
    )
    expect(status).to_contain_text("1 live stream open")
    expect(status).to_have_attribute("data-kind", "warn")

    job_page = start_failing_pull(small_portal)
    second.goto(f"{small_portal.url}{job_page}")
    notice = second.locator("[data-job-notice]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("1 live stream open")

    # Closing the first tab gives its stream back.
    page.close()
    second.goto(logs_url)
    expect(second.locator("[data-log-status]")).to_have_text("Following")
