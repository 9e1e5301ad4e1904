"""Grants per engine in real Chromium, on a portal whose engines are declared in its
environment as configuration management would (DOCKERWEB_ENGINES, and the TLS folder of the
second engine in DOCKERWEB_ENGINE_EDGE_TLS_DIR): an Operator granted only "local" works
there and is refused on "edge", pages and websockets alike."""

import os

import pytest
from playwright.sync_api import expect

from tests.conftest import login, start_portal, stop_portal

pytestmark = pytest.mark.browser

PASSWORD = "grants-test-pw-1"
MAIN_ENGINE = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
OPEN_SOCKET = """async (path) => {
    const url = `ws://${location.host}${path}`;
    return await new Promise((resolve) => {
        const socket = new WebSocket(url);
        socket.onopen = () => { socket.close(); resolve("open"); };
        socket.onclose = () => resolve("refused");
    });
}"""


@pytest.fixture(scope="module")
def two_engine_portal(tls_dockerd, tmp_path_factory):
    folder = tls_dockerd.tls.write_client_dir(tmp_path_factory.mktemp("edge-tls"))
    portal, process = start_portal(
        tmp_path_factory.mktemp("grants-portal"),
        {
            "DOCKERWEB_ENGINES": f"local={MAIN_ENGINE},edge={tls_dockerd.tcp_address}",
            "DOCKERWEB_ENGINE_EDGE_TLS_DIR": str(folder),
        },
    )
    portal.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        "from engines.models import EngineGrant\n"
        "u = User.objects.create_user('site-operator', password=" + repr(PASSWORD) + ")\n"
        "EngineGrant.objects.create(engine='local', user=u, role=Group.objects.get(name='Operator'))\n",
    )
    yield portal
    stop_portal(process)


def test_an_operator_granted_one_engine_is_refused_on_the_other(browser, two_engine_portal):
    portal = two_engine_portal
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        login(page, portal, "site-operator", PASSWORD)
        # Logging in took them to the engine they hold a role on; the switcher offers no other.
        assert page.url == f"{portal.url}/engines/local/containers/"
        page.goto(f"{portal.url}/engines/local/containers/")
        expect(page.get_by_role("link", name="+ New")).to_be_visible()  # an Operator here
        expect(page.get_by_role("navigation", name="Engines")).to_have_count(0)
        assert page.evaluate(OPEN_SOCKET, "/engines/local/ws/live/") == "open"
        assert page.evaluate(OPEN_SOCKET, "/engines/edge/ws/live/") == "refused"

        refused = page.goto(f"{portal.url}/engines/edge/containers/")
        assert refused.status == 403
        expect(page.get_by_text("You hold no role on the engine “edge”.")).to_be_visible()
        # The refusal page's own links stay on the engine they may use.
        expect(page.get_by_role("link", name="Back to containers")).to_have_attribute(
            "href", "/engines/local/containers/"
        )
        assert page.goto(f"{portal.url}/engines/edge/").status == 403
    finally:
        context.close()

    # An administrator of the same portal sees both declared engines, the second one up.
    admin = browser.new_context().new_page()
    try:
        login(admin, portal)
        admin.goto(f"{portal.url}/engines/edge/containers/")
        switcher = admin.get_by_role("navigation", name="Engines")
        expect(switcher.get_by_role("link", name="edge")).to_have_attribute("aria-current", "true")
        expect(switcher.get_by_role("link", name="local")).to_be_visible()
        expect(admin.locator(".engine-address")).to_contain_text(tls_address(portal))
        if os.environ.get("DOCKERWEB_TEST_SCREENSHOTS"):
            admin.screenshot(path=f"{os.environ['DOCKERWEB_TEST_SCREENSHOTS']}/engine-switcher.png")
    finally:
        admin.context.close()


def tls_address(portal) -> str:
    return portal.env["DOCKERWEB_ENGINES"].split("edge=", 1)[1]
