"""No page scrolls sideways: at a phone's 390 px, a tablet's 768, a laptop's 1366 and a
desktop's 1920, every page an admin reaches keeps `document.documentElement.scrollWidth`
within the window. The worst cases are on the engine while it looks: a container, volume,
network and image of our own with long names, labels, paths and mount sources."""

import contextlib
import re
import uuid
from urllib.parse import quote

import docker.errors
import pytest
from playwright.sync_api import expect

from tests.engine import TEST_LABELS, unique_name
from tests.pages import every_page

pytestmark = pytest.mark.browser

WIDTHS = ((390, 844), (768, 1024), (1366, 768), (1920, 1080))
IDLE = "trap 'exit 0' TERM; sleep 3600 & wait"
# No spaces, so nothing can wrap them unless the page lets a word break.
LONG_WORD = "averylongunbrokenvalue-" + "0123456789abcdef" * 8
LONG_LABELS = {
    **TEST_LABELS,
    "org.opencontainers.image.description.of-a-label-key-that-keeps-going": LONG_WORD,
}

# The element wider than its parent, first in document order of each kind: the one that
# pushes the page sideways, not the ancestors it drags along.
OFFENDERS = """() => {
  const limit = window.innerWidth;
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= limit + 1) continue;
    const parent = el.parentElement.getBoundingClientRect();
    if (box.right <= parent.right + 1) continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.classList.length ? "." + [...el.classList].join(".") : "");
    found.push(`${name} ends at ${Math.round(box.right)} px`);
    if (found.length >= 4) break;
  }
  return found;
}"""


def sideways(page) -> dict | None:
    """None if the page fits the window, else how wide it is and what sticks out."""
    width, window = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width <= window:
        return None
    return {"scrollWidth": width, "offenders": page.evaluate(OFFENDERS)}


def settled(page) -> None:
    """Loaded, live socket open, and the requests the page fires by itself (volume sizes,
    job rows) answered: what a person sees a moment after the page opens."""
    page.wait_for_load_state("load")
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    expect(page.locator(".htmx-request")).to_have_count(0)


@pytest.fixture
def long_volume(docker_api):
    name = unique_name("dwt-a-volume-with-a-long-name-for-the-width-test") + "-" + "v" * 60
    docker_api.create_volume(name, labels=LONG_LABELS)
    yield name
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_volume(name, force=True)


@pytest.fixture
def anonymous_volume(docker_api):
    """A volume the engine named (64 hex digits): an unbreakable name beside its "anonymous"
    badge, the row that once widened the phone page."""
    name = docker_api.create_volume(labels=LONG_LABELS)["Name"]
    yield name
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_volume(name, force=True)


@pytest.fixture
def long_network(docker_api):
    created = docker_api.create_network(
        unique_name("dwt-a-network-with-a-long-name") + "-" + "n" * 60, labels=LONG_LABELS
    )
    yield created["Id"]
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_network(created["Id"])


def test_no_page_scrolls_sideways_at_phone_tablet_laptop_or_desktop_width(
    admin_page,
    portal,
    docker_api,
    make_container,
    make_image,
    long_volume,
    anonymous_volume,
    long_network,
    built,
    tmp_path,
):
    page = admin_page
    url = portal.url
    host_dir = tmp_path / ("a-host-folder-with-a-long-path-" + "d" * 40) / ("deeper-" + "e" * 50)
    host_dir.mkdir(parents=True)
    image_ref, _ = make_image(f"{unique_name('dwt-an-image-with-a-long-repository-name')}:1")
    container = make_container(
        ("sh", "-c", f"echo {LONG_WORD}; {IDLE}"),
        name=unique_name("dwt-a-container-with-a-long-name-for-the-width-test") + "-" + "c" * 40,
        labels=LONG_LABELS,
        environment={"A_LONG_SETTING": LONG_WORD},
        host_config={
            "binds": {
                str(host_dir): {"bind": "/data/" + "p" * 80, "mode": "ro"},
                long_volume: {"bind": "/volume/" + "q" * 80, "mode": "rw"},
            }
        },
    )
    cid = container["Id"]
    image = quote(image_ref, safe="")

    # A job of our own (a build with a long tag), so the jobs pages have a row to show.
    tag = f"{unique_name('dwt-a-built-image-with-a-long-name')}:{'t' * 60}"
    built.append(tag)
    page.goto(f"{url}/engines/local/images/build/")
    page.get_by_label("Dockerfile", exact=True).fill(
        f"FROM {image_ref}\nRUN echo {uuid.uuid4().hex}-{LONG_WORD}\n"
    )
    page.get_by_label("Tags").fill(tag)
    page.get_by_role("button", name="Build", exact=True).click()
    page.wait_for_url(re.compile(r"/engines/local/jobs/[0-9a-f-]{36}/$"))
    job = page.url.removeprefix(url)
    expect(page.locator("[data-job-status]")).to_have_text("Succeeded", timeout=60_000)

    # The portal's own live model has seen our container before the crawl starts.
    page.goto(f"{url}/engines/local/containers/?q={quote(container['Name'].lstrip('/'))}")
    expect(page.locator(f'#container-rows [data-container-id="{cid}"]')).to_be_visible()

    pages = [
        *every_page(container=cid, image=image, volume=long_volume, network=long_network, job=job),
        f"/engines/local/images/view/{quote(tag, safe='')}/",
    ]
    failures = []
    for path in pages:
        page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
        response = page.goto(url + path)
        assert response is not None and response.ok, (path, response and response.status)
        settled(page)
        for width, height in WIDTHS:
            page.set_viewport_size({"width": width, "height": height})
            found = sideways(page)
            if found:
                failures.append((path, width, found))
    for path, width, found in failures:
        print(f"{width:>5} px {path}: {found['scrollWidth']} px wide; {found['offenders']}")
    assert not failures, f"{len(failures)} page×width pairs scroll sideways (printed above)"
