"""The Engines page in real Chromium: an administrator adds the session's TLS engine (the CA
and key pasted, the client certificate uploaded), sees it healthy in the list, switches to
it, runs a container there (seen under that engine only), and removes the engine again after
being told what goes."""

import os
import re

import docker.errors
import pytest
from playwright.sync_api import expect

from tests import engine as eng
from tests.test_browser_run_cards import card, choose_tag

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("DOCKERWEB_TEST_SCREENSHOTS", "")


def test_an_admin_adds_a_tls_engine_runs_a_container_there_and_removes_it(
    admin_page, portal, tls_dockerd, tmp_path, test_image, docker_api
):
    page = admin_page
    tls = tls_dockerd.tls
    name = eng.unique_name("edge").lower()[:40].strip("-")
    page.goto(f"{portal.url}/engines/local/containers/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Engines").click()
    expect(page.get_by_role("heading", name="Engines", exact=True)).to_be_visible()
    expect(page.locator("#engine-state-local")).to_have_text("up")

    page.get_by_role("link", name="Add engine").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Address", exact=True).fill(tls_dockerd.tcp_address)
    page.get_by_label("CA certificate", exact=True).fill(tls.ca)
    cert = tmp_path / "cert.pem"
    cert.write_text(tls.client.cert)
    page.get_by_label("Client certificate file", exact=True).set_input_files(str(cert))
    page.get_by_label("Client key", exact=True).fill(tls.client.key)
    page.get_by_role("button", name="Verify and add").click()

    expect(page.get_by_role("heading", name=f"Engine {name}")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text(f"Added engine {name}")
    page.get_by_role("link", name="Engines", exact=True).first.click()
    row = page.locator(f'tr[data-engine="{name}"]')
    expect(row).to_contain_text("TCP+TLS")
    expect(page.locator(f"#engine-state-{name}")).to_have_text("up", timeout=20_000)
    expect(page.locator(f"#engine-version-{name}")).to_contain_text("Docker 20.")
    expect(page.locator(f"#engine-latency-{name}")).to_contain_text(" ms")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/engines-list.png", full_page=True)

    # Switch to it in the sidebar, run a container there: it is that engine's only.
    page.goto(f"{portal.url}/engines/local/containers/")
    page.get_by_role("navigation", name="Engines").get_by_role("link", name=name).click()
    page.wait_for_url(f"{portal.url}/engines/{name}/containers/")
    expect(page.locator(".engine-address")).to_contain_text(tls_dockerd.tcp_address)
    container_id = run_from_a_card(page, portal, name, test_image)
    try:
        assert tls_dockerd.client().inspect_container(container_id)["State"]["Running"]
        with pytest.raises(docker.errors.NotFound):
            docker_api.inspect_container(container_id)
        page.goto(f"{portal.url}/engines/{name}/containers/")
        expect(
            page.locator(f'a[href="/engines/{name}/containers/{container_id}/"]').first
        ).to_be_visible()
        page.goto(f"{portal.url}/engines/local/containers/?q=busybox")
        expect(page.locator(f'a[href*="{container_id}"]')).to_have_count(0)
    finally:
        tls_dockerd.client().remove_container(container_id, force=True)

    page.goto(f"{portal.url}/settings/engines/")
    page.locator(f'tr[data-engine="{name}"]').get_by_role("link", name=name).click()
    expect(page.get_by_label("Client key", exact=True)).to_have_value("")
    expect(page.get_by_text("Stored; leave empty to keep.").first).to_be_visible()
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/engine-detail.png", full_page=True)
    page.get_by_role("link", name="Remove engine").click()
    expect(page.locator("[data-remove-plan]")).to_contain_text("untouched")
    page.get_by_role("button", name="Remove").click()
    expect(page.locator(".messages")).to_contain_text(f"Removed engine {name}")
    expect(page.locator(f'tr[data-engine="{name}"]')).to_have_count(0)


def run_from_a_card(page, portal, engine: str, image: str) -> str:
    """Create a container from the image's card on `engine`'s New container page; its id."""
    page.goto(f"{portal.url}/engines/{engine}/containers/new/")
    page.get_by_label("Search images").fill("busybox")
    page.wait_for_url(re.compile(r"[?&]q=busybox"))
    local = card(page, "local", "dockerweb-test/busybox")
    choose_tag(local, image)
    local.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(rf"/engines/{engine}/containers/[0-9a-f]{{64}}/$"))
    return page.url.rstrip("/").rsplit("/", 1)[1]
