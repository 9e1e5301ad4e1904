"""WCAG 2.1 AA in real Chromium (axe-core, tests/axe.py): every page an administrator reaches
from the top navigation and one link below it, the login page and one page per role, in the
light and the dark theme — chosen by the browser (prefers-color-scheme) and by the portal's
own Light / Dark / Automatic toggle, which is remembered per user on the server.

The crawl: same-origin GET links only (no logout, no downloads), one page per URL pattern
(Django's own route, so one container page stands for every container), our own objects'
pages first so the patterns are filled with what this test made, not with a stranger's
container on the shared engine. Every page's per-rule counts are printed (`pytest -s`) and
the failure names each page with its serious or critical violations."""

import json
from collections import Counter
from urllib.parse import quote, unquote, urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from tests import axe
from tests.conftest import login
from tests.engine import unique_name

pytestmark = pytest.mark.browser

SCHEMES = ("light", "dark")
IDLE = "trap 'exit 0' TERM; echo axe-log-line; echo axe-error-line >&2; sleep 3600 & wait"
# Routes a crawl must not follow: they end the session or answer with a file, not a page.
NOT_PAGES = ("logout", "download")
# "Users & roles" (the Django admin) is crawled too; only the admin's pages that change or
# delete things on a GET-looking link (logout, password change of the crawler) are left out.
NOT_CRAWLED = ("admin:logout", "admin:password_change", "admin:auth_user_password")
STILL_LOADING = (
    '[hx-trigger="load"][hx-swap="outerHTML"], [data-disk-pending], #build-cache-list[hx-trigger]'
)
ROLE_PASSWORD = "axe-role-password-1"


# -- what the pages show: this test's own objects --------------------------------------------


def finished_job(portal) -> str:
    """A finished pull job with some output, made in the portal's database (no engine work:
    the job page is what is checked here, not a pull)."""
    code = (
        "from jobs.models import Job; from django.utils import timezone\n"
        "job = Job.objects.create(kind='pull', title='Pull axe/example:1', started_by_name='admin',"
        " status='succeeded', finished_at=timezone.now(), output='Pulling fs layer\\nDone\\n')\n"
        "print(job.id)\n"
    )
    return portal.manage("shell", "-c", code).split()[-1]  # after the shell's own notes


def role_user(portal, role: str) -> str:
    username = f"axe-{role.lower()}"
    code = (
        "from django.contrib.auth.models import Group, User\n"
        f"u, _ = User.objects.get_or_create(username={username!r})\n"
        f"u.set_password({ROLE_PASSWORD!r}); u.save()\n"
        f"u.groups.add(Group.objects.get(name={role!r}))\n"
    )
    portal.manage("shell", "-c", code)
    return username


# -- checking one page ----------------------------------------------------------------------


class Findings:
    """axe's violations per page and scheme; printed as they come, judged at the end."""

    def __init__(self):
        self.pages: dict[str, Counter] = {}
        self.blocking: dict[str, list[dict]] = {}

    def check(self, page, label: str, schemes=SCHEMES) -> None:
        for scheme in schemes:
            if scheme:
                page.emulate_media(color_scheme=scheme)
                # Colours that ease into the new scheme (the Django admin's links have a
                # transition) are measured once they got there, not halfway.
                page.wait_for_function(
                    "() => document.getAnimations().every("
                    "(a) => !(a instanceof CSSTransition) || a.playState !== 'running')"
                )
            found = axe.violations(page)
            key = f"{label} [{scheme or 'as set'}]"
            self.pages[key] = axe.rule_counts(found)
            if blocking := axe.blocking(found):
                self.blocking[key] = blocking
            print(f"axe {key}: {dict(self.pages[key]) or 'clean'}")
            for violation in blocking:
                targets = [node["target"] for node in violation["nodes"]]
                print(f"    {violation['id']}: {', '.join(targets[:6])}")

    def totals(self) -> Counter:
        total = Counter()
        for counts in self.pages.values():
            total.update(counts)
        return total

    def report(self) -> str:
        lines = [f"{len(self.blocking)} of {len(self.pages)} page views have serious/critical:"]
        for key, violations in self.blocking.items():
            rules = ", ".join(
                f"{v['id']} ×{len(v['nodes'])} (e.g. {v['nodes'][0]['target']})" for v in violations
            )
            lines.append(f"  {key}: {rules}")
        lines.append(f"per rule, all pages: {dict(self.totals())}")
        return "\n".join(lines)


def open_page(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, (url, response and response.status)
    page.wait_for_load_state("load")
    # A portal page is checked once its live socket is up and it shows what it will show.
    if page.locator("body[data-live-url]").count():
        expect(page.locator("body")).to_have_attribute("data-live", "connected")
    # Parts that load after the page (the dashboard's facts and disk usage, the build cache's
    # list) have come: a slow engine keeps them "measuring", so give them the engine's time.
    expect(page.locator(STILL_LOADING)).to_have_count(0, timeout=120_000)


def route_of(path: str) -> str | None:
    """The page's URL pattern (one container page stands for all), or None for non-pages."""
    try:
        match = resolve(unquote(path))
    except Resolver404:
        return None
    name = match.view_name or ""
    if any(word in name for word in NOT_PAGES) or name.startswith(NOT_CRAWLED):
        return None
    return f"{match.view_name} {match.route}"


def links_on(page, origin: str, selector: str = "a[href]:not([download])") -> list[str]:
    hrefs = page.locator(selector).evaluate_all("links => links.map(a => a.href.split('#')[0])")
    return [href for href in hrefs if href.startswith(origin + "/")]


def path_of(target) -> str:
    return target.path + (f"?{target.query}" if target.query else "")


def crawl(page, origin: str, own_pages: list[str], findings: Findings) -> list[str]:
    """Our own objects' pages, then the top navigation and each of its pages' links, one page
    per URL pattern. Returns the paths checked."""
    seen: set[str] = set()
    checked: list[str] = []

    def check(path: str) -> None:
        open_page(page, origin + path)
        findings.check(page, path)
        checked.append(path)

    for path in own_pages:
        seen.add(route_of(urlsplit(path).path) or path)
        check(path)

    open_page(page, origin + "/engines/local/containers/")
    top = [urlsplit(href) for href in links_on(page, origin, ".topnav a")]
    assert len(top) >= 7, top
    below = []
    for target in top:
        route = route_of(target.path)
        if route is None:
            continue
        if route in seen:  # checked already; its links are still the level below
            open_page(page, origin + path_of(target))
        else:
            seen.add(route)
            check(path_of(target))
        below.extend(urlsplit(href) for href in links_on(page, origin))
    for target in below:
        route = route_of(target.path)
        if route is None or route in seen:
            continue
        seen.add(route)
        check(path_of(target))
    return checked


# -- the tests --------------------------------------------------------------------------------


def test_every_crawled_page_has_no_serious_or_critical_violation_in_light_and_dark(
    admin_page, browser, portal, docker_api, make_container, make_image, volume_with_a_file, network
):
    page = admin_page
    origin = portal.url
    findings = Findings()
    running = make_container(("sh", "-c", IDLE), name=unique_name("axe-web"))
    make_container(("true",), start=False, name=unique_name("axe-stopped"))
    cid = running["Id"]
    reference, _ = make_image()
    image = quote(reference, safe="")
    job = finished_job(portal)

    own_pages = [
        "/",
        f"/engines/local/containers/{cid}/",
        f"/engines/local/containers/{cid}/overview/",
        f"/engines/local/containers/{cid}/inspect/",
        f"/engines/local/containers/{cid}/terminal/",
        f"/engines/local/containers/{cid}/stats/",
        f"/engines/local/containers/{cid}/processes/",
        f"/engines/local/containers/{cid}/settings/",
        f"/engines/local/containers/{cid}/remove/",
        "/engines/local/dashboard/prune/build-cache/",
        "/engines/local/containers/new/",
        f"/engines/local/containers/new/advanced/?image={image}",
        f"/engines/local/images/view/{image}/",
        f"/engines/local/images/remove/{image}/",
        "/engines/local/images/registries/",
        f"/engines/local/volumes/{volume_with_a_file}/files/",
        f"/engines/local/volumes/{volume_with_a_file}/files/?path=hello.txt",
        f"/engines/local/volumes/{volume_with_a_file}/remove/",
        f"/engines/local/networks/{network}/",
        f"/engines/local/networks/{network}/remove/",
        f"/engines/local/jobs/{job}/",
    ]
    visited = crawl(page, origin, own_pages, findings)
    assert {
        "/engines/local/dashboard/prune/containers/",
        "/engines/local/images/prune/",
        "/engines/local/volumes/prune/",
        "/admin/auth/user/",
        "/admin/auth/group/add/",
    } <= set(visited), visited

    # Users & roles: a user's and a role's change pages, two levels below the navigation.
    for listing in ("/admin/auth/user/", "/admin/auth/group/"):
        open_page(page, origin + listing)
        change = page.locator("#result_list a[href$='/change/']").first.get_attribute("href")
        open_page(page, origin + change)
        findings.check(page, change)
        visited.append(change)

    # The login page, logged out.
    anonymous = browser.new_page()
    try:
        open_page(anonymous, f"{origin}/login/")
        findings.check(anonymous, "/login/")
    finally:
        anonymous.close()

    # One page per role: what a Viewer and an Operator see of a container.
    for role in ("Viewer", "Operator"):
        context = browser.new_context()
        try:
            role_page = context.new_page()
            login(role_page, portal, role_user(portal, role), ROLE_PASSWORD)
            open_page(role_page, f"{origin}/engines/local/containers/{cid}/")
            findings.check(role_page, f"/engines/local/containers/{cid}/ as {role}")
        finally:
            context.close()

    print(f"axe per rule over {len(findings.pages)} page views: {dict(findings.totals())}")
    assert not findings.blocking, findings.report()


def theme_of(page) -> dict:
    return page.evaluate(
        """() => ({
            theme: document.documentElement.dataset.theme,
            background: getComputedStyle(document.body).backgroundColor,
        })"""
    )


def is_dark(rgb: str) -> bool:
    red, green, blue = (int(part) for part in rgb[rgb.index("(") + 1 : -1].split(",")[:3])
    return (red + green + blue) / 3 < 100


def choose_theme(page, name: str) -> None:
    # theme.js saves the choice in the background: the next page is asked for once it's saved.
    with page.expect_response(lambda r: "/preferences/theme/" in r.url and r.ok):
        page.get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("button", name=name, exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )


def test_the_theme_toggle_overrides_the_browser_is_remembered_per_user_and_stays_aa(
    admin_page, browser, portal, make_container
):
    page = admin_page
    origin = portal.url
    findings = Findings()
    container = make_container(("sh", "-c", IDLE), name=unique_name("axe-theme"))
    pages = [
        "/",
        "/engines/local/containers/",
        f"/engines/local/containers/{container['Id']}/",
        f"/engines/local/containers/{container['Id']}/stats/",
    ]

    # Automatic (the default) follows the browser, from the first paint.
    page.emulate_media(color_scheme="dark")
    open_page(page, origin + pages[1])
    assert is_dark(theme_of(page)["background"]), theme_of(page)
    page.emulate_media(color_scheme="light")
    assert not is_dark(theme_of(page)["background"]), theme_of(page)

    # Dark chosen while the browser asks for light: dark on every page, after a reload too.
    choose_theme(page, "Dark")
    assert theme_of(page)["theme"] == "dark" and is_dark(theme_of(page)["background"])
    for path in pages:
        open_page(page, origin + path)
        assert theme_of(page)["theme"] == "dark", (path, theme_of(page))
        assert is_dark(theme_of(page)["background"]), (path, theme_of(page))
        findings.check(page, f"{path} toggle Dark, browser light", schemes=("light",))

    # Light chosen while the browser asks for dark.
    page.emulate_media(color_scheme="dark")
    choose_theme(page, "Light")
    for path in pages:
        open_page(page, origin + path)
        assert theme_of(page)["theme"] == "light", (path, theme_of(page))
        assert not is_dark(theme_of(page)["background"]), (path, theme_of(page))
        findings.check(page, f"{path} toggle Light, browser dark", schemes=("dark",))

    # The choice is the user's: another user on the same browser still follows the browser.
    other = browser.new_context(color_scheme="dark")
    try:
        viewer = other.new_page()
        login(viewer, portal, role_user(portal, "Viewer"), ROLE_PASSWORD)
        open_page(viewer, origin + pages[1])
        assert theme_of(viewer)["theme"] == "auto" and is_dark(theme_of(viewer)["background"])
    finally:
        other.close()

    # Automatic again: the admin's pages follow the browser once more.
    choose_theme(page, "Automatic")
    open_page(page, origin + pages[1])
    assert theme_of(page)["theme"] == "auto" and is_dark(theme_of(page)["background"])

    print(json.dumps({key: dict(counts) for key, counts in findings.pages.items()}, indent=1))
    assert not findings.blocking, findings.report()


CHART_COLOURS = """() => {
    const plot = document.querySelector("[data-stats-view]").statsView.charts.cpu.plot;
    return {
        series: plot.series[1].stroke(plot, 1),
        axis: plot.axes[1].stroke(plot, 1),
        wanted: [window.dockerwebTheme.color("--chart-1"), window.dockerwebTheme.color("--chart-axis")],
    };
}"""
TERMINAL_BACKGROUND = """() => getComputedStyle(
    document.querySelector(".terminal-screen .xterm-scrollable-element")).backgroundColor"""


def test_the_charts_and_the_terminal_take_the_themes_colours_without_a_reload(
    admin_page, portal, make_container
):
    page = admin_page
    container = make_container(("sh", "-c", IDLE), name=unique_name("axe-colours"))
    page.emulate_media(color_scheme="light")
    try:
        open_page(page, f"{portal.url}/engines/local/containers/{container['Id']}/stats/")
        light = page.evaluate(CHART_COLOURS)
        assert [light["series"], light["axis"]] == light["wanted"], light
        choose_theme(page, "Dark")
        dark = page.evaluate(CHART_COLOURS)
        assert [dark["series"], dark["axis"]] == dark["wanted"], dark
        assert dark["series"] != light["series"] and dark["axis"] != light["axis"], (light, dark)

        choose_theme(page, "Light")
        open_page(page, f"{portal.url}/engines/local/containers/{container['Id']}/terminal/")
        expect(page.locator(".terminal-screen .xterm-scrollable-element")).to_be_visible()
        light_background = page.evaluate(TERMINAL_BACKGROUND)
        choose_theme(page, "Dark")
        page.wait_for_function(f"() => ({TERMINAL_BACKGROUND})() !== {light_background!r}")
        assert page.evaluate(TERMINAL_BACKGROUND) == page.evaluate(
            "() => window.dockerwebTheme.color('--log-bg')"
        )
    finally:
        choose_theme(page, "Automatic")
