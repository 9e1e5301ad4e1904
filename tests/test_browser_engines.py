"""The Engines page in real Chromium: an administrator adds the session's TLS engine (the CA
and key pasted, the client certificate uploaded), sees it healthy in the list, and removes it
again after being told what goes."""

import os

import pytest
from playwright.sync_api import expect

from tests import engine as eng

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("DOCKERWEB_TEST_SCREENSHOTS", "")


def test_an_admin_adds_a_tls_engine_sees_it_healthy_and_removes_it(
    admin_page, portal, tls_dockerd, tmp_path
):
    page = admin_page
    tls = tls_dockerd.tls
    name = eng.unique_name("edge").lower()[:40].strip("-")
    page.goto(f"{portal.url}/containers/")
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

    row.get_by_role("link", name=name).click()
    expect(page.get_by_label("Client key", exact=True)).to_have_value("")
    expect(page.get_by_text("Stored; leave empty to keep.").first).to_be_visible()
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/engine-detail.png", full_page=True)
    page.get_by_role("link", name="Remove engine").click()
    expect(page.locator("[data-remove-plan]")).to_contain_text("untouched")
    page.get_by_role("button", name="Remove").click()
    expect(page.locator(".messages")).to_contain_text(f"Removed engine {name}")
    expect(page.locator(f'tr[data-engine="{name}"]')).to_have_count(0)
