"""The volume file browser: folders, text view, downloads, uploads — no container started."""

import contextlib
import io
import tarfile
import time

import docker.errors
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from playwright.sync_api import expect

from audit.models import AuditEntry
from dockerweb.gateway import volume_files
from dockerweb.gateway.types import HELPER_LABEL
from tests.engine import TEST_LABELS, unique_name, wait_for
from tests.users import client_for, make_user

# The helpers carry the label with a value only the portal computes: match the key.
HELPER_FILTER = {"label": [HELPER_LABEL]}
WRITE_FILES = "mkdir -p /data/sub && echo hello > /data/hello.txt && echo deep > /data/sub/deep.txt"


def run_in_volume(make_container, docker_api, volume: str, script: str) -> str:
    """Run `script` in a test container with the volume at /data; its output."""
    container = make_container(
        ["sh", "-c", script], host_config={"binds": {volume: {"bind": "/data", "mode": "rw"}}}
    )
    wait_for(
        lambda: not docker_api.inspect_container(container["Id"])["State"]["Running"],
        message="the container using the volume to finish",
    )
    assert docker_api.inspect_container(container["Id"])["State"]["ExitCode"] == 0
    output = docker_api.logs(container["Id"]).decode()
    docker_api.remove_container(container["Id"], force=True)
    return output


@pytest.fixture
def volume(docker_api, make_container):
    """A labelled named volume holding hello.txt and sub/deep.txt."""
    name = unique_name("dwt-vol")
    docker_api.create_volume(name=name, labels=TEST_LABELS)
    run_in_volume(make_container, docker_api, name, WRITE_FILES)
    yield name
    for container in docker_api.containers(all=True, filters={"volume": name}):
        labels = container.get("Labels") or {}
        if any(labels.get(key) == value for key, value in {**TEST_LABELS, **HELPER_FILTER}.items()):
            with contextlib.suppress(docker.errors.NotFound):
                docker_api.remove_container(container["Id"], force=True)
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_volume(name, force=True)


@pytest.fixture
def no_helper_started(docker_api):
    """Fails the test if the portal started a helper container or left one behind."""
    since = int(time.time()) - 1
    yield
    until = int(time.time()) + 1
    events = list(
        docker_api.events(
            since=since,
            until=until,
            filters={"type": "container", **HELPER_FILTER},
            decode=True,
        )
    )
    actions = {event.get("Action") or event.get("status") for event in events}
    assert "create" in actions, "the browser should have used helper containers"
    assert "start" not in actions, f"a helper container was started: {events}"
    assert docker_api.containers(all=True, filters=HELPER_FILTER) == []


def viewer(username: str = "viewer") -> Client:
    """A non-admin who may see volumes and read their files (not upload)."""
    return client_for(make_user(username, "volumes.view_volume", "volumes.read_volume_files"))


def files_url(volume: str, path: str = "") -> str:
    return f"/engines/local/volumes/{volume}/files/?path={path}"


def download_url(volume: str, path: str) -> str:
    return f"/engines/local/volumes/{volume}/files/download/?path={path}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_browser_lists_views_and_downloads_without_starting_a_container(volume, no_helper_started):
    client = viewer()
    listing = client.get(files_url(volume))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert 'data-name="hello.txt" data-kind="file"' in page
    assert 'data-name="sub" data-kind="dir"' in page
    assert "-rw-r--r--" in page and "drwxr-xr-x" in page

    deeper = client.get(files_url(volume, "sub"))
    assert 'data-name="deep.txt"' in deeper.content.decode()

    shown = client.get(files_url(volume, "hello.txt"))
    assert shown.status_code == 200
    assert "data-file-text>hello\n</pre>" in shown.content.decode()

    file_download = client.get(download_url(volume, "hello.txt"))
    assert file_download.status_code == 200
    assert body(file_download) == b"hello\n"
    assert 'filename="hello.txt"' in file_download["Content-Disposition"]

    folder_download = client.get(download_url(volume, "sub"))
    with tarfile.open(fileobj=io.BytesIO(body(folder_download))) as archive:
        deep = archive.extractfile("sub/deep.txt")
        assert deep is not None and deep.read() == b"deep\n"
    assert AuditEntry.objects.filter(action="volume.download", target_name=volume).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["..", "../..", "sub/../../etc", "/../etc/passwd"])
def test_dot_dot_paths_are_refused(volume, path):
    client = viewer()
    page = client.get(files_url(volume, path))
    assert page.status_code == 400
    assert "not allowed" in page.content.decode()
    assert "data-file-row" not in page.content.decode()
    assert client.get(download_url(volume, path)).status_code == 400


@pytest.mark.django_db
def test_large_text_and_binary_files_are_offered_as_download(volume, docker_api, make_container):
    run_in_volume(
        make_container,
        docker_api,
        volume,
        "head -c 300000 /dev/zero | tr '\\0' a > /data/big.txt && printf 'a\\0b' > /data/bin",
    )
    client = viewer()
    big = client.get(files_url(volume, "big.txt")).content.decode()
    assert "data-file-refused" in big and "Download it instead" in big
    binary = client.get(files_url(volume, "bin")).content.decode()
    assert "binary" in binary and "data-file-text" not in binary


@pytest.mark.django_db
def test_admin_upload_lands_in_the_volume(volume, admin_client, docker_api, make_container):
    upload = SimpleUploadedFile("note.txt", b"uploaded by admin\n")
    answer = admin_client.post(
        f"/engines/local/volumes/{volume}/files/upload/", {"path": "sub", "file": upload}
    )
    assert answer.status_code == 302
    assert run_in_volume(make_container, docker_api, volume, "cat /data/sub/note.txt") == (
        "uploaded by admin\n"
    )
    assert AuditEntry.objects.filter(
        action="volume.upload", target_name=volume, outcome="ok"
    ).exists()


@pytest.mark.django_db
def test_upload_by_non_admin_is_forbidden(volume, docker_api, make_container):
    upload = SimpleUploadedFile("evil.txt", b"nope")
    answer = viewer().post(
        f"/engines/local/volumes/{volume}/files/upload/", {"path": "", "file": upload}
    )
    assert answer.status_code == 403
    assert "evil.txt" not in run_in_volume(make_container, docker_api, volume, "ls /data")


@pytest.mark.django_db
def test_big_folder_listing_is_cut_with_a_notice(volume, docker_api, make_container):
    count = volume_files.LIST_LIMIT + 200
    run_in_volume(
        make_container,
        docker_api,
        volume,
        f"mkdir /data/many && cd /data/many && i=0; while [ $i -lt {count} ]; do : > f$i; i=$((i+1)); done",
    )
    page = viewer().get(files_url(volume, "many")).content.decode()
    assert "data-listing-cut" in page
    assert page.count("data-file-row") == volume_files.LIST_LIMIT


@pytest.mark.browser
def test_browser_shows_and_downloads_a_volume_file(volume, admin_page, portal):
    page = admin_page
    page.goto(f"{portal.url}/engines/local/volumes/?q={volume}")
    page.locator(f'[data-volume-name="{volume}"]').get_by_role("link", name="Browse files").click()
    page.get_by_role("link", name="hello.txt").click()
    expect(page.locator("[data-file-text]")).to_have_text("hello")
    with page.expect_download() as info:
        page.locator("[data-download-file]").click()
    download = info.value
    assert download.suggested_filename == "hello.txt"
    with open(download.path(), "rb") as saved:
        assert saved.read() == b"hello\n"
