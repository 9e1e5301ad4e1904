"""The volume story in Chromium: create `data_volume`, fill it from a container, browse and
download its file with no container started by the portal, removal refused while used, prune."""

import contextlib
import re
import time

import docker.errors
import pytest
from playwright.sync_api import expect

from dockerweb.gateway.types import HELPER_LABEL
from tests.engine import TEST_LABELS, unique_name, wait_for

LABEL_LINES = "\n".join(f"{key}={value}" for key, value in TEST_LABELS.items())
# The helpers carry the label with a value only the portal computes: match the key.
HELPER_FILTER = {"label": [HELPER_LABEL]}
ANON_BYTES = 8000


def volume_exists(docker_api, name: str) -> bool:
    try:
        docker_api.inspect_volume(name)
    except docker.errors.NotFound:
        return False
    return True


def wait_until_exited(docker_api, container_id: str) -> None:
    wait_for(
        lambda: not docker_api.inspect_container(container_id)["State"]["Running"],
        message="the writer container to finish",
    )
    assert docker_api.inspect_container(container_id)["State"]["ExitCode"] == 0


@pytest.mark.browser
def test_data_volume_filled_by_a_container_is_browsed_guarded_and_pruned_in_the_browser(
    admin_page, portal, docker_api, make_container
):
    page = admin_page
    name = "data_volume"
    if volume_exists(docker_api, name):
        name = unique_name("dwt-data-volume")  # the engine has its own data_volume: not ours
    anonymous = None
    since = int(time.time()) - 1
    try:
        # Create it through the form.
        page.goto(f"{portal.url}/engines/local/volumes/")
        page.get_by_role("link", name="New volume").click()
        page.get_by_label("Name").fill(name)
        page.get_by_label("Labels").fill(LABEL_LINES)
        page.get_by_role("button", name="Create").click()
        page.wait_for_url(f"{portal.url}/engines/local/volumes/")
        expect(page.locator(f'[data-volume-row][data-volume-name="{name}"]')).to_be_visible()
        assert docker_api.inspect_volume(name)["Labels"] == TEST_LABELS

        # A container writes a file into it and stays (stopped): the volume is in use.
        writer = make_container(
            ["sh", "-c", "echo from-container > /data/note.txt"],
            host_config={"binds": {name: {"bind": "/data", "mode": "rw"}}},
        )
        wait_until_exited(docker_api, writer["Id"])
        writer_name = writer["Name"].lstrip("/")

        # See, view and download the file.
        page.goto(f"{portal.url}/engines/local/volumes/?q={name}")
        row = page.locator(f'[data-volume-row][data-volume-name="{name}"]')
        row.get_by_role("link", name="Browse files").click()
        expect(page.locator('[data-file-row][data-name="note.txt"]')).to_be_visible()
        page.get_by_role("link", name="note.txt", exact=True).click()
        expect(page.locator("[data-file-text]")).to_have_text("from-container")
        with page.expect_download() as info:
            page.locator("[data-download-file]").click()
        download = info.value
        assert download.suggested_filename == "note.txt"
        with open(download.path(), "rb") as saved:
            assert saved.read() == b"from-container\n"

        # The portal read the volume through never-started helper containers.
        events = list(
            docker_api.events(
                since=since,
                until=int(time.time()) + 1,
                filters={"type": "container", **HELPER_FILTER},
                decode=True,
            )
        )
        actions = {event.get("Action") or event.get("status") for event in events}
        assert "create" in actions, "the file browser should have used helper containers"
        assert "start" not in actions, f"the portal started a container: {events}"
        assert docker_api.containers(all=True, filters=HELPER_FILTER) == []

        # Removing it while the stopped writer uses it is refused, naming the writer.
        page.goto(f"{portal.url}/engines/local/volumes/?q={name}")
        row.get_by_role("link", name="Remove").click()
        users = page.locator("[data-remove-users]")
        expect(users).to_contain_text(f"In use by 1 container (running or not): {writer_name}.")
        expect(page.locator("#confirm-name")).to_have_count(0)
        assert volume_exists(docker_api, name)

        # Once the container is gone, the typed confirmation removes it.
        docker_api.remove_container(writer["Id"], v=False)
        page.reload()
        page.get_by_label(f"Type {name} to confirm").fill(name)
        page.get_by_role("button", name="Remove").click()
        page.wait_for_url(f"{portal.url}/engines/local/volumes/")
        expect(page.locator(f'[data-volume-row][data-volume-name="{name}"]')).to_have_count(0)
        assert not volume_exists(docker_api, name)

        # An anonymous volume left with data by a removed container: prune reclaims it.
        filler = make_container(
            ["sh", "-c", f"head -c {ANON_BYTES} /dev/zero > /anon/file"], volumes=["/anon"]
        )
        wait_until_exited(docker_api, filler["Id"])
        anonymous = next(m["Name"] for m in filler["Mounts"] if m["Destination"] == "/anon")
        docker_api.remove_container(filler["Id"], v=False)
        assert volume_exists(docker_api, anonymous)

        page.goto(f"{portal.url}/engines/local/volumes/")
        page.get_by_role("link", name="Prune unused").click()
        expect(page.locator(f'tr[data-volume-name="{anonymous}"]')).to_be_visible()
        page.get_by_role("button", name=re.compile(r"^Delete \d+ unused volume")).click()
        page.wait_for_url(f"{portal.url}/engines/local/volumes/")
        summary = page.locator("li.message", has_text="Pruned ")
        expect(summary).to_contain_text("reclaimed")
        reclaimed = int(re.search(r"\((\d+) bytes\)", summary.inner_text()).group(1))
        assert reclaimed >= ANON_BYTES
        assert not volume_exists(docker_api, anonymous)
    finally:
        for volume in (name, anonymous):
            if volume is None:
                continue
            for container in docker_api.containers(all=True, filters={"volume": volume}):
                if (container.get("Labels") or {}).items() >= TEST_LABELS.items():
                    with contextlib.suppress(docker.errors.NotFound):
                        docker_api.remove_container(container["Id"], force=True)
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                if volume_exists(docker_api, volume):
                    labels = docker_api.inspect_volume(volume).get("Labels") or {}
                    if volume == anonymous or labels.items() >= TEST_LABELS.items():
                        docker_api.remove_volume(volume, force=True)


@pytest.mark.browser
def test_measuring_gives_way_to_the_size_on_the_list_and_the_remove_page(
    admin_page, portal, docker_api, make_container
):
    page = admin_page
    name = docker_api.create_volume(name=unique_name("dwt-sized"), labels=TEST_LABELS)["Name"]
    try:
        filler = make_container(
            ["sh", "-c", f"head -c {ANON_BYTES} /dev/zero > /data/file"],
            host_config={"binds": {name: {"bind": "/data", "mode": "rw"}}},
        )
        wait_until_exited(docker_api, filler["Id"])
        docker_api.remove_container(filler["Id"])

        # Sizes are kept a few seconds per portal process: on a busy engine another page's
        # measurement may have begun before the file was written. Wait for one that counts it.
        def measured():
            answer = page.request.get(
                f"{portal.url}/engines/local/volumes/sizes/?volume={name}"
            ).text()
            found = re.search(r'data-size="(\d+)"', answer)
            return found and int(found.group(1)) >= ANON_BYTES

        wait_for(measured, timeout=60, interval=1, message="a measurement counting the file")

        # Hold the sizes request: the page is whole without it, the size says "measuring…".
        held = []
        sizes_url = re.compile(r"/engines/local/volumes/sizes/")

        def hold(route):
            held.append(route)

        page.route(sizes_url, hold)
        page.goto(f"{portal.url}/engines/local/volumes/?q={name}")
        row = page.locator(f'[data-volume-row][data-volume-name="{name}"]')
        cell = row.locator("[data-size-cell]")
        expect(cell).to_have_text("measuring…")
        deadline = time.monotonic() + 10
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(20)  # lets Playwright hand the held request over
        assert len(held) == 1, "the list should ask for its sizes once"
        held[0].continue_()
        page.unroute(sizes_url)

        expect(cell).not_to_contain_text("measuring…")
        expect(cell).to_have_text(re.compile(r"^\d+(\.\d+)? kB$"))  # SI units, as `docker` writes
        assert int(cell.locator("[data-size]").get_attribute("data-size")) >= ANON_BYTES
        shown = cell.inner_text()

        # The remove confirmation says what will be lost the same way.
        row.get_by_role("link", name="Remove").click()
        expect(page.locator("[data-remove-size]")).to_contain_text(f"every file in it ({shown})")
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_volume(name, force=True)
