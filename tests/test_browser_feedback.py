"""Feedback in real Chromium: an action's button says what the engine is doing the moment it
is clicked and until the engine's event says it is done; other users' actions arrive as
brief notices; empty and no-match states say the same from the server and from the page's
own filter, with a next step."""

import json

import pytest
from playwright.sync_api import expect

from tests import engine as eng
from tests.conftest import login

pytestmark = pytest.mark.browser

# PID 1 with TERM ignored: a Stop waits the whole grace period, then the engine kills it.
IGNORES_TERM = ("sh", "-c", 'trap "" TERM; while :; do sleep 1; done')
GRACE = 3  # the container's StopTimeout: long enough to see the wait, short for the suite
# The page's own reaction to the click (not the engine's): the acceptance.
REACTION_BUDGET_MS = 200
PASSWORD = "feedback-pass-8Qv2"  # noqa: S105 - a test user's
OPERATOR_PERMISSIONS = ("containers.view_container", "containers.operate_container")

# Installed in the page before the click (over DevTools: the page's CSP stays as served).
# Times are the page's performance.now(); kept in sessionStorage, which outlives the
# navigation the form's POST ends with.
WATCH_BUSY = """([formSelector, slotSelector]) => {
  const slot = document.querySelector(slotSelector);
  const record = (key, value) => sessionStorage.setItem(key, JSON.stringify(value));
  ["fb-click", "fb-busy", "fb-dropped"].forEach((key) => sessionStorage.removeItem(key));
  document.addEventListener("click", (event) => {
    if (event.target.closest(formSelector)) record("fb-click", performance.now());
  }, true);
  const observer = new MutationObserver(() => {
    const button = document.querySelector(`${formSelector} button`);
    const badge = document.querySelector("#container-header [data-state-label]");
    const busy = button && button.getAttribute("aria-disabled") === "true";
    if (busy && !sessionStorage.getItem("fb-busy")) {
      const group = button.closest("[aria-busy='true']");
      record("fb-busy", {
        at: performance.now(),
        label: button.textContent,
        badge: badge ? badge.textContent : null,
        group_busy: !!group,
        others_disabled: group ? [...group.querySelectorAll("button")].filter((b) => b !== button).every((b) => b.disabled) : null,
        status: (document.querySelector("[data-action-status]") || {}).textContent || "",
      });
    }
    // The busy state went away while the page still said "running": dropped too early.
    if (sessionStorage.getItem("fb-busy") && button && !busy && badge && badge.textContent === "running") {
      record("fb-dropped", performance.now());
    }
  });
  observer.observe(slot, { subtree: true, childList: true, attributes: true, characterData: true });
}"""


def stored(page, key):
    value = page.evaluate("(key) => sessionStorage.getItem(key)", key)
    return json.loads(value) if value else None


def state_badge(page):
    return page.locator("#container-header [data-state-label]")


def wait_live(page):
    expect(page.locator("body")).to_have_attribute("data-live", "connected")


def test_stop_says_stopping_at_once_and_the_final_state_when_the_engine_says_so(
    admin_page, portal, docker_api, make_container
):
    page = admin_page
    container = make_container(IGNORES_TERM, stop_timeout=GRACE)
    container_id = container["Id"]
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/")
    wait_live(page)
    expect(state_badge(page)).to_have_text("running")
    stop_form = '#container-header form[data-action="stop"]'
    page.evaluate(WATCH_BUSY, [stop_form, "#container-header-slot"])

    page.get_by_role("button", name="Stop", exact=True).click()

    # Read from what the page recorded: the POST's answer may have replaced it by now.
    busy, clicked = stored(page, "fb-busy"), stored(page, "fb-click")
    assert busy and clicked is not None, "the page never showed Stop as in progress"
    reaction = busy["at"] - clicked
    print(f"in-progress state {reaction:.1f} ms after the click")
    assert reaction <= REACTION_BUDGET_MS
    assert busy["label"] == "Stopping…"
    assert busy["badge"] == "running", "in progress is shown while the engine still works"
    assert busy["group_busy"] and busy["others_disabled"], busy
    assert busy["status"] == (
        f"Stopping… (the container has up to {GRACE} s to exit before it is killed)"
    )

    # The final state once the engine's event says so (SIGKILL after the grace period).
    expect(state_badge(page)).to_have_text("exited", timeout=GRACE * 1000 + 15_000)
    assert docker_api.inspect_container(container_id)["State"]["Status"] == "exited"
    start = page.locator("#container-header").get_by_role("button", name="Start", exact=True)
    expect(start).to_be_enabled()
    expect(page.locator("#container-header [aria-busy='true']")).to_have_count(0)
    assert stored(page, "fb-dropped") is None, "the busy state ended while still running"


def test_remove_with_its_volumes_says_so_while_it_runs(
    admin_page, portal, docker_api, make_container
):
    page = admin_page
    container = make_container(volumes=["/data"])
    container_id = container["Id"]
    page.goto(f"{portal.url}/engines/local/containers/{container_id}/remove/")
    page.get_by_label("Also remove its anonymous volumes").check()
    remove_form = "section.confirm form"
    page.evaluate(
        """(formSelector) => {
          sessionStorage.removeItem("fb-remove");
          new MutationObserver(() => {
            const button = document.querySelector(`${formSelector} button[type=submit]`);
            if (button && button.getAttribute("aria-disabled") === "true" && !sessionStorage.getItem("fb-remove"))
              sessionStorage.setItem("fb-remove", JSON.stringify(button.textContent));
          }).observe(document.querySelector(formSelector), { subtree: true, childList: true, attributes: true });
        }""",
        remove_form,
    )
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("Removed")
    assert stored(page, "fb-remove") == "Removing the container and its volumes…"
    eng.settle_model(container_id, gone=True)


@pytest.fixture
def operator(portal):
    name = f"alice-{eng.SESSION[-8:]}"
    portal.create_user(name, PASSWORD, OPERATOR_PERMISSIONS)
    return name


def test_another_users_stop_appears_as_a_brief_notice(
    admin_page, portal, browser, operator, make_container
):
    container = make_container(("sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"))
    name = container["Name"].lstrip("/")
    watcher = admin_page
    watcher.goto(f"{portal.url}/engines/local/containers/")
    wait_live(watcher)
    notices = watcher.locator("#notices")
    expect(notices).to_have_attribute("role", "status")

    context = browser.new_context()
    try:
        actor = context.new_page()
        actor.set_default_timeout(10_000)
        login(actor, portal, operator, PASSWORD)
        actor.goto(f"{portal.url}/engines/local/containers/{container['Id']}/")
        wait_live(actor)
        # Another tab of the actor's, open on the list: it hears the notice and keeps quiet.
        own_tab = context.new_page()
        own_tab.goto(f"{portal.url}/engines/local/containers/")
        wait_live(own_tab)
        focused_before = watcher.evaluate("document.activeElement && document.activeElement.id")
        actor.get_by_role("button", name="Stop", exact=True).click()
        expect(actor.locator(".message.success")).to_contain_text("Stopped")

        notice = notices.locator(".notice", has_text=f"{operator} stopped {name}")
        expect(notice).to_be_visible(timeout=5000)
        assert watcher.evaluate("document.activeElement && document.activeElement.id") == (
            focused_before
        ), "the notice took the focus"
        # The actor is not told what they did themselves (once their other tab has seen the
        # stop's own event, the notice sent at the same moment has reached it too).
        own_item = own_tab.locator(f'#sidebar-list [data-container-id="{container["Id"]}"]')
        if own_item.count():
            expect(own_item).to_have_attribute("data-state", "exited")
        expect(own_tab.locator("#notices .notice")).to_have_count(0)
        # Brief: it goes by itself.
        expect(notice).to_have_count(0, timeout=15_000)
    finally:
        context.close()


# -- empty and no-match states --------------------------------------------------------------


def empty_state(page):
    """The visible empty/no-match state of the main pane: its words and where its links go."""
    state = page.locator("main [data-empty]:visible")
    expect(state).to_have_count(1)
    links = state.locator("a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    return " ".join(state.inner_text().split()), links


def test_containers_no_match_reads_the_same_from_the_url_and_while_typing(admin_page, portal):
    page = admin_page
    needle = f"nomatch-{eng.SESSION}"
    page.goto(f"{portal.url}/engines/local/containers/?q={needle}")
    from_url = empty_state(page)
    assert from_url == (
        f"No containers match “{needle}”. Clear the filter · New container",
        ["/engines/local/containers/", "/engines/local/containers/new/"],
    )

    page.goto(f"{portal.url}/engines/local/containers/")
    page.get_by_label("Filter", exact=True).fill(needle)
    expect(page.locator("#container-rows [data-empty]")).to_be_visible()
    assert empty_state(page) == from_url


@pytest.mark.parametrize(
    ("path", "what", "next_step"),
    [
        ("/engines/local/volumes/", "volumes", ("Create a volume", "/engines/local/volumes/new/")),
        ("/engines/local/images/", "images", ("Pull an image", "/engines/local/images/pull/")),
    ],
)
def test_in_page_filter_says_what_the_server_says(
    admin_page, portal, docker_api, path, what, next_step
):
    page = admin_page
    # A row of ours to filter away (the test image is one on the images page).
    volume = docker_api.create_volume(eng.unique_name(), labels=eng.TEST_LABELS)["Name"]
    eng.settle_volume(volume)
    try:
        needle = f"nomatch-{eng.SESSION}"
        page.goto(f"{portal.url}{path}?q={needle}")
        from_server = empty_state(page)
        label, url = next_step
        assert from_server == (
            f"No {what} match “{needle}”. Clear the filter · {label}",
            [path, url],
        )

        page.goto(f"{portal.url}{path}")
        search = page.get_by_role("searchbox", name=f"Filter {what}")
        rows = page.locator(f"#{what[:-1]}-rows [data-search]:visible")
        expect(rows.first).to_be_visible()
        search.fill(needle)
        expect(rows).to_have_count(0)
        assert empty_state(page) == from_server

        # Clearing the filter brings the rows back in place (no page load).
        page.evaluate("window.__same_page = true")
        page.locator("main [data-empty]").get_by_role("link", name="Clear the filter").click()
        expect(search).to_have_value("")
        expect(rows.first).to_be_visible()
        expect(page.locator("main [data-empty]")).to_be_hidden()
        assert page.evaluate("window.__same_page === true")
    finally:
        docker_api.remove_volume(volume)


def test_sidebar_no_match_offers_clearing_the_filter(admin_page, portal, make_container):
    page = admin_page
    make_container()
    page.goto(f"{portal.url}/engines/local/containers/")
    filter_box = page.get_by_role("searchbox", name="Filter containers")
    needle = f"nomatch-{eng.SESSION}"
    filter_box.fill(needle)
    sidebar_state = page.locator("#sidebar-list [data-empty]")
    expect(sidebar_state).to_be_visible()
    expect(sidebar_state).to_contain_text(f"No containers match “{needle}”.")
    expect(sidebar_state.get_by_role("link", name="New container")).to_have_attribute(
        "href", "/engines/local/containers/new/"
    )
    # The sidebar's filter follows the user from page to page: clearing it must clear it there.
    sidebar_state.get_by_role("button", name="Clear the filter").click()
    expect(filter_box).to_have_value("")
    expect(page.locator("#sidebar-list .sidebar-item").first).to_be_visible()
    page.reload()
    expect(page.get_by_role("searchbox", name="Filter containers")).to_have_value("")
