""" "New container" cards in real Chromium against the real engine and a real registry:
search as you type, Create on the local card, a registry card's pull with its progress on
the card, and Docker Hub offline.

Containers made here inherit the session's TEST_LABELS from the test images (see
tests/test_run_cards.py) and are also removed by name.
"""

import contextlib
import re

import docker.errors
import pytest
from playwright.sync_api import expect

from tests import engine as eng
from tests.registry import SlowProxy

pytestmark = pytest.mark.browser

LOCAL_NAME = f"busybox-{eng.SESSION}"


@pytest.fixture
def by_name(docker_api):
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(name, force=True, v=True)


def card(page, source: str, name: str):
    return page.locator(f'[data-card="{source}"][data-card-name="{name}"]')


def choose_tag(local, reference: str) -> None:
    """Other test runs on the shared engine may have tagged the same repository: pick ours."""
    picker = local.get_by_label("Tag")
    if picker.count():
        picker.select_option(reference)


def search(page, portal, words: str):
    page.goto(f"{portal.url}/engines/local/containers/new/")
    page.get_by_label("Search images").fill(words)  # htmx searches as the user types
    # The results for `words` are in (the search puts its query in the address).
    page.wait_for_url(re.compile(r"[?&]q=" + re.escape(words)))


def test_searching_busybox_and_pressing_create_runs_it_named_after_its_tag(
    admin_page, portal, docker_api, test_image, by_name
):
    by_name.append(LOCAL_NAME)
    page = admin_page
    search(page, portal, "busybox")
    local = card(page, "local", "dockerweb-test/busybox")
    expect(local).to_be_visible()
    expect(local.locator(".card-badge-local")).to_have_text("local")
    choose_tag(local, test_image)

    local.get_by_role("button", name="Create").click()

    page.wait_for_url(re.compile(r"/engines/local/containers/[0-9a-f]{64}/$"))
    container_id = page.url.rstrip("/").rsplit("/", 1)[1]
    doc = docker_api.inspect_container(container_id)
    assert doc["Name"] == f"/{LOCAL_NAME}", "named after the image's tag, not its id"
    assert doc["Config"]["Image"] == test_image
    expect(page.locator("[data-log-status]")).to_have_text("Following")
    eng.wait_for(
        lambda: docker_api.inspect_container(container_id)["State"]["Running"],
        message="the new container to run",
    )


def test_the_advanced_link_opens_the_full_form_prefilled_with_the_card_image(
    admin_page, portal, test_image
):
    page = admin_page
    search(page, portal, "busybox")
    local = card(page, "local", "dockerweb-test/busybox")
    choose_tag(local, test_image)
    local.get_by_role("link", name="Advanced").click()
    page.wait_for_url(re.compile(r"/engines/local/containers/new/advanced/\?image="))
    expect(page.get_by_label("Image", exact=True)).to_have_value(test_image)
    expect(page.get_by_label("Published ports")).to_be_visible()


@pytest.fixture
def slow_remote_image(docker_api, registry, portal):
    """An image in the registry (not on the engine), reached through a proxy the test can
    pause, and the proxy's address configured as a registry in the portal."""
    proxy = SlowProxy(registry.address)
    reference = f"{proxy.address}/dwt/browsercards-{eng.SESSION}:v2"
    repository, tag = reference.rsplit(":", 1)
    docker_api.tag(eng.TEST_IMAGE, repository, tag)
    for event in docker_api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    docker_api.remove_image(reference)
    portal.manage(
        "shell",
        "-c",
        "from images.models import Registry\n"
        f"r = Registry(address={proxy.address!r}, username='dwt')\n"
        "r.set_secret('unused'); r.save()\n",
    )
    yield proxy, reference
    proxy.resume()
    portal.manage(
        "shell",
        "-c",
        "from images.models import Registry\n"
        f"Registry.objects.filter(address={proxy.address!r}).delete()\n",
    )
    proxy.stop()
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_image(reference, force=True)


def test_a_registry_cards_create_pulls_with_progress_on_the_card_then_opens_the_logs(
    admin_page, portal, docker_api, slow_remote_image, by_name
):
    proxy, reference = slow_remote_image
    by_name.append(f"browsercards-{eng.SESSION}-v2")
    page = admin_page
    search(page, portal, "browsercards")
    remote = card(page, "registry", reference.rsplit(":", 1)[0])
    expect(remote).to_be_visible(timeout=15_000)
    expect(remote.locator(".card-badge-registry")).to_have_text("registry")

    proxy.pause()  # the pull waits on the registry while the test looks at the card
    remote.get_by_role("button", name="Create").click()
    job = remote.locator("[data-card-job]")
    expect(job).to_be_visible()
    expect(job.get_by_role("progressbar")).to_be_visible()
    expect(job.locator("[data-card-job-status]")).to_contain_text("Pulling")
    assert "/engines/local/containers/new/" in page.url
    # A search typed while the pull runs doesn't wipe the card's progress.
    with page.expect_response(
        lambda r: "q=busybox" in r.url and "/engines/local/containers/new/" in r.url
    ):
        page.get_by_label("Search images").fill("busybox")
    expect(job.locator("[data-card-job-status]")).to_contain_text("Pulling")
    proxy.resume()

    page.wait_for_url(re.compile(r"/engines/local/containers/[0-9a-f]{64}/$"), timeout=60_000)
    container_id = page.url.rstrip("/").rsplit("/", 1)[1]
    doc = docker_api.inspect_container(container_id)
    assert doc["Config"]["Image"] == reference
    assert doc["Name"] == f"/browsercards-{eng.SESSION}-v2"


def test_docker_hub_offline_is_one_friendly_line(admin_page, portal, docker_api):
    try:
        docker_api.search("busybox", limit=1)
    except docker.errors.APIError:
        pass
    else:
        pytest.skip("this engine reaches Docker Hub")
    page = admin_page
    search(page, portal, "busybox")
    hub = page.locator('[data-source="hub"]')
    expect(hub.locator("[data-hub-problem]")).to_have_text(
        "Docker Hub can't be reached from the engine."
    )
    expect(hub).not_to_contain_text("dial tcp")
    expect(hub.locator("[data-card]")).to_have_count(0)
    # The local card is there all the same.
    expect(card(page, "local", "dockerweb-test/busybox")).to_be_visible()
