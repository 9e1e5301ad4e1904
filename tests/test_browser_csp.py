"""The Content-Security-Policy in real Chromium: every page reachable from the top navigation,
logged in as admin on the real portal, loads with the policy and without a single violation,
and the live features still work under it."""

import re
import uuid
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.engine import unique_name
from tests.pages import every_page

pytestmark = pytest.mark.browser

# Runs in every document before the page's own scripts; Playwright injects it outside the
# page's CSP. Each violation is reported to the test through an exposed binding.
WATCH_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspSeen = (window.__cspSeen || 0) + 1;
  window.__cspViolation({
    page: location.pathname + location.search,
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    sample: event.sample,
  });
}, true);
"""
ADMIN_PAGES = (
    "/admin/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
    "/admin/auth/user/1/change/",
    "/admin/auth/user/1/password/",
    "/admin/auth/group/",
    "/admin/auth/group/add/",
    "/admin/axes/accessattempt/",
    "/admin/axes/accesslog/",
)
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"


class ViolationWatch:
    """securitypolicyviolation events and CSP console errors of one Chromium page."""

    def __init__(self, page):
        self.events: list[dict] = []
        self.console: list[str] = []
        page.expose_binding("__cspViolation", lambda _source, event: self.events.append(event))
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console.append(message.text)

    def all(self) -> list:
        return [*self.events, *self.console]


def visit(page, url: str) -> None:
    """Open a page; it must come with a strict script policy."""
    response = page.goto(url)
    assert response is not None and response.ok, (url, response and response.status)
    header = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in header, (url, header)
    assert "'unsafe-inline'" not in header.split("script-src", 1)[1].split(";", 1)[0], url
    page.wait_for_load_state("load")


def visit_portal_page(page, url: str) -> None:
    """A portal page (base.html): also wait until live.js ran and its websocket connected —
    scripts and the same-origin ws:// both got past the policy."""
    visit(page, url)
    expect(page.locator("body")).to_have_attribute("data-live", "connected")


def test_every_page_from_the_top_navigation_runs_without_a_policy_violation(
    admin_page,
    portal,
    docker_api,
    make_container,
    test_image,
    volume_with_a_file,
    network,
    built,
):
    page = admin_page
    watch = ViolationWatch(page)
    container = make_container(("sh", "-c", f"echo csp-first; {IDLE}"))
    cid = container["Id"]
    image = quote(test_image, safe="")
    url = portal.url

    # A build through the form as served: a job whose output streams live over a websocket.
    tag = f"{unique_name('csp-build')}:1"
    built.append(tag)
    marker = f"csp-build-{uuid.uuid4().hex[:8]}"
    visit_portal_page(page, f"{url}/engines/local/images/build/")
    page.get_by_label("Dockerfile", exact=True).fill(f"FROM {test_image}\nRUN echo {marker}\n")
    page.get_by_label("Tags").fill(tag)
    page.get_by_role("button", name="Build", exact=True).click()
    page.wait_for_url(re.compile(r"/engines/local/jobs/[0-9a-f-]{36}/$"))
    job_url = page.url
    expect(page.locator("[data-job-output]")).to_contain_text(marker, timeout=60_000)
    expect(page.locator("[data-job-status]")).to_have_text("Succeeded", timeout=60_000)

    pages = [
        *every_page(
            container=cid,
            image=image,
            volume=volume_with_a_file,
            network=network,
            job=job_url.removeprefix(url),
        ),
        f"/engines/local/volumes/{volume_with_a_file}/files/?path=hello.txt",
    ]
    for path in pages:
        visit_portal_page(page, url + path)
        assert watch.all() == [], (path, watch.all())

    # Everything the top navigation links to was among them.
    visit_portal_page(page, f"{url}/engines/local/containers/")
    nav = page.locator(".topnav a").evaluate_all("links => links.map(a => a.pathname)")
    assert "/admin/" in nav and len(nav) >= 7, nav
    assert set(nav) - {"/admin/"} <= set(pages), nav

    # The Django admin ("Users & roles"): lists, forms, the permission picker, lockouts.
    for path in ADMIN_PAGES:
        visit(page, url + path)
    # The login page, logged out in a fresh context.
    anonymous = page.context.browser.new_page()
    anonymous_watch = ViolationWatch(anonymous)
    try:
        visit(anonymous, f"{url}/login/")
        expect(anonymous.get_by_label("Username")).to_be_visible()
    finally:
        anonymous.close()

    assert watch.all() == [] and anonymous_watch.all() == [], [
        *watch.all(),
        *anonymous_watch.all(),
    ]


def test_live_features_still_work_under_the_policy(admin_page, portal, docker_api, make_container):
    page = admin_page
    watch = ViolationWatch(page)
    stopped = make_container(("true",), start=False, name=unique_name("csp-stopped"))
    running = make_container(("sh", "-c", f"echo csp-first; {IDLE}"))

    # The live log stream shows a line written after the page opened.
    visit_portal_page(page, f"{portal.url}/engines/local/containers/{running['Id']}/")
    output = page.locator("[data-log-output]")
    expect(page.locator("[data-log-status]")).to_have_text("Following")
    expect(output.locator(".line", has_text="csp-first")).to_have_count(1)
    marker = f"csp-live-{uuid.uuid4().hex[:8]}"
    exec_id = docker_api.exec_create(running["Id"], ["sh", "-c", f"echo {marker} > /proc/1/fd/1"])
    docker_api.exec_start(exec_id)
    expect(output.locator(".line", has_text=marker)).to_have_count(1, timeout=5000)

    # The containers list's radio filter submits by itself (it was an inline onchange).
    visit_portal_page(page, f"{portal.url}/engines/local/containers/")
    stopped_name = stopped["Name"].lstrip("/")
    rows = page.locator("#container-rows")
    expect(rows.get_by_text(stopped_name)).to_have_count(1)
    page.get_by_label("Running", exact=True).check()
    page.wait_for_url(re.compile(r"[?&]state=running"))
    expect(rows.get_by_text(stopped_name)).to_have_count(0)
    expect(rows.get_by_text(running["Name"].lstrip("/"))).to_have_count(1)

    # The networks filter narrows the rows as you type, and Enter doesn't reload the page
    # (it was an inline onsubmit).
    visit_portal_page(page, f"{portal.url}/engines/local/networks/")
    before = page.url
    search = page.get_by_label("Filter networks")
    search.fill("bridge")
    search.press("Enter")
    expect(page.locator("#network-rows [data-search]:visible").first).to_be_visible()
    assert page.url == before

    assert watch.all() == [], watch.all()


def test_an_injected_inline_handler_is_blocked_and_reported(admin_page, portal):
    """What the policy is for: markup that slipped through escaping can't run code."""
    page = admin_page
    watch = ViolationWatch(page)
    visit_portal_page(page, f"{portal.url}/engines/local/containers/")
    page.evaluate(
        """() => {
          document.body.insertAdjacentHTML("beforeend",
            '<img src="data:," onerror="window.__injected = 1">');
          const script = document.createElement("script");
          script.textContent = "window.__injectedScript = 1";
          document.body.append(script);
        }"""
    )
    page.wait_for_function("() => window.__cspSeen >= 2", timeout=5000)
    page.evaluate("() => 0")  # one more round trip: the reports have reached the test
    assert len(watch.events) >= 2, watch.events
    assert page.evaluate("() => [window.__injected, window.__injectedScript]") == [None, None]
    assert {event["directive"] for event in watch.events} <= {"script-src-attr", "script-src-elem"}
