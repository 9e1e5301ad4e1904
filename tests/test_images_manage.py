"""Tagging, removing (refused while in use) and pruning images, against the real engine."""

import html
import io
import os
import re
import tarfile

import docker.errors
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.models import AuditEntry
from tests.engine import LABEL_KEY, SESSION, TEST_LABELS, settle_model, unique_name
from tests.pages import shown_messages, text


def new_container(docker_api, image: str, *, start=False) -> str:
    """A container made from `image`, named; removed with the image by make_image."""
    name = unique_name("user")
    created = docker_api.create_container(
        image, command=["sleep", "60"], name=name, labels=TEST_LABELS
    )
    if start:
        docker_api.start(created["Id"])
    settle_model(created["Id"], state="running" if start else None)
    return name


def image_exists(docker_api, reference: str) -> bool:
    try:
        docker_api.inspect_image(reference)
    except docker.errors.NotFound:
        return False
    return True


# -- tag ----------------------------------------------------------------------------------


def test_tag_form_adds_the_tag_to_the_image(admin_client, docker_api, make_image):
    reference, image_id = make_image()
    new_reference = f"{unique_name('dwt-retag')}:v2"

    response = admin_client.post(
        f"/engines/local/images/tag/{reference}/", {"new_reference": new_reference}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/engines/local/images/view/{new_reference}/"
    assert set(docker_api.inspect_image(image_id)["RepoTags"]) == {reference, new_reference}
    entry = AuditEntry.objects.get(action="image.tag")
    assert (entry.outcome, entry.target_name) == (AuditEntry.Outcome.OK, reference)
    assert new_reference in entry.detail
    page = admin_client.get(response["Location"])
    assert f"Tagged {reference} as {new_reference}." in shown_messages(page)


def test_tag_without_a_tag_means_latest(admin_client, docker_api, make_image):
    reference, image_id = make_image()
    name = unique_name("dwt-retag")

    response = admin_client.post(f"/engines/local/images/tag/{reference}/", {"new_reference": name})

    assert response["Location"] == f"/engines/local/images/view/{name}:latest/"
    assert f"{name}:latest" in docker_api.inspect_image(image_id)["RepoTags"]


def test_tag_form_refuses_an_invalid_name_with_a_clear_message(
    admin_client, docker_api, make_image
):
    reference, image_id = make_image()

    response = admin_client.post(
        f"/engines/local/images/tag/{reference}/", {"new_reference": "Bad Name:1"}
    )

    assert response.status_code == 400
    errors = re.search(
        r'<ul class="errorlist" id="id_new_reference_error">(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    assert errors and "can't contain spaces" in html.unescape(errors.group(1))
    assert docker_api.inspect_image(image_id)["RepoTags"] == [reference]
    assert not AuditEntry.objects.exists()


# -- remove -------------------------------------------------------------------------------


def test_remove_is_refused_while_a_container_uses_the_image_naming_it(
    admin_client, docker_api, make_image
):
    reference, image_id = make_image()
    user = new_container(docker_api, reference)  # stopped: still counts

    confirm = admin_client.get(f"/engines/local/images/remove/{reference}/")
    assert confirm.status_code == 200
    assert f"In use by 1 container (running or not): {user}." in text(confirm)
    assert "Force" in text(confirm)

    response = admin_client.post(f"/engines/local/images/remove/{reference}/")

    assert response.status_code == 409
    problem = re.search(r"<div[^>]*data-remove-problem>(.*?)</div>", response.content.decode())
    assert problem and f"is used by {user}" in html.unescape(problem.group(1))
    assert docker_api.inspect_image(image_id)["RepoTags"] == [reference]
    entry = AuditEntry.objects.get(action="image.remove")
    assert entry.outcome == AuditEntry.Outcome.FAILED and user in entry.detail


def test_forced_remove_of_an_image_a_running_container_uses_only_untags_it(
    admin_client, docker_api, make_image
):
    reference, image_id = make_image()
    new_container(docker_api, reference, start=True)

    response = admin_client.post(f"/engines/local/images/remove/{reference}/", {"force": "on"})

    assert response.status_code == 302
    # The engine keeps an image a running container uses; only its name goes.
    assert not image_exists(docker_api, reference)
    assert docker_api.inspect_image(image_id)["RepoTags"] == []
    assert response["Location"] == f"/engines/local/images/view/{image_id}/"
    entry = AuditEntry.objects.get(action="image.remove")
    assert entry.outcome == AuditEntry.Outcome.OK and f"Untagged {reference}" in entry.detail


def test_forced_remove_of_an_image_only_stopped_containers_use_deletes_it(
    admin_client, docker_api, make_image
):
    reference, image_id = make_image()
    new_container(docker_api, reference)

    response = admin_client.post(
        f"/engines/local/images/remove/{reference}/", {"force": "on"}, follow=True
    )

    assert response.redirect_chain == [("/engines/local/images/", 302)]
    assert not image_exists(docker_api, image_id)
    (message,) = shown_messages(response)
    assert message.startswith(f"Untagged {reference}; deleted image {image_id[7:19]}")


def test_remove_of_an_unused_image_deletes_it(admin_client, docker_api, make_image):
    reference, image_id = make_image()

    confirm = admin_client.get(f"/engines/local/images/remove/{reference}/")
    assert "This deletes the image" in text(confirm)
    assert "MB" in text(confirm), "the size that comes back is not shown"

    response = admin_client.post(f"/engines/local/images/remove/{reference}/")

    assert response.status_code == 302 and response["Location"] == "/engines/local/images/"
    assert not image_exists(docker_api, image_id)
    entry = AuditEntry.objects.get(action="image.remove")
    assert (entry.outcome, entry.target_id) == (AuditEntry.Outcome.OK, image_id)


def test_remove_of_one_of_several_tags_only_untags(admin_client, docker_api, make_image):
    reference, image_id = make_image()
    repository = reference.split(":")[0]
    docker_api.tag(image_id, repository, "keep")
    # A container does not stop an untag: the image itself stays.
    new_container(docker_api, reference)

    confirm = admin_client.get(f"/engines/local/images/remove/{reference}/")
    assert f"Only the tag {reference} goes" in text(confirm)

    response = admin_client.post(f"/engines/local/images/remove/{reference}/")

    assert (
        response.status_code == 302
        and response["Location"] == f"/engines/local/images/view/{image_id}/"
    )
    assert docker_api.inspect_image(image_id)["RepoTags"] == [f"{repository}:keep"]


# -- prune --------------------------------------------------------------------------------

BLOB_SIZE = 256 * 1024


def build_with_unique_layer(docker_api, base: str, reference: str) -> str:
    """Build `reference` FROM `base` with a random file of its own; returns the image id."""
    dockerfile = f"FROM {base}\nCOPY blob /blob\n".encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("blob", os.urandom(BLOB_SIZE))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    # No LABEL step: the image inherits TEST_LABELS from the base, and a build without
    # intermediate images leaves nothing behind but the image itself.
    for chunk in docker_api.build(
        fileobj=context, custom_context=True, tag=reference, rm=True, forcerm=True, decode=True
    ):
        assert "error" not in chunk, chunk
    return docker_api.inspect_image(reference)["Id"]


@pytest.fixture
def dangling_image(docker_api, test_image, make_image):
    """The id of an image of ours left dangling: built twice under the same tag."""
    reference = f"{unique_name('dwt-prune')}:1"
    first = build_with_unique_layer(docker_api, test_image, reference)
    make_image.made.append(first)
    make_image.made.append(build_with_unique_layer(docker_api, test_image, reference))
    assert docker_api.inspect_image(first)["RepoTags"] == []
    assert docker_api.inspect_image(first)["Config"]["Labels"][LABEL_KEY] == SESSION
    return first


def test_prune_page_lists_the_dangling_images_and_their_size(admin_client, dangling_image):
    response = admin_client.get("/engines/local/images/prune/")

    assert response.status_code == 200
    page = response.content.decode()
    listed = re.search(r"<table[^>]*data-prune-list>(.*?)</table>", page, re.S).group(1)
    assert f'data-image-id="{dangling_image}"' in listed
    total = int(re.search(r'data-prune-total="(\d+)"', page).group(1))
    assert total >= BLOB_SIZE


def test_prune_deletes_dangling_images_and_reports_the_space_reclaimed(
    admin_client, docker_api, dangling_image
):
    response = admin_client.post("/engines/local/images/prune/", follow=True)

    assert response.redirect_chain == [("/engines/local/images/", 302)]
    (message,) = shown_messages(response)
    reclaimed = int(re.search(r"\((\d+) bytes\)", message).group(1))
    assert reclaimed >= BLOB_SIZE, message
    assert not image_exists(docker_api, dangling_image)
    entry = AuditEntry.objects.get(action="image.prune")
    assert entry.outcome == AuditEntry.Outcome.OK and dangling_image in entry.detail


# -- permissions --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_viewer_without_push_or_remove_may_not_tag_remove_or_prune(docker_api, make_image):
    reference, image_id = make_image()
    viewer = User.objects.create_user("image-viewer", password="viewer-pw-1")
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="images", codename="view_image")
    )
    client = Client()
    client.force_login(viewer)

    detail = client.get(f"/engines/local/images/view/{reference}/")
    assert detail.status_code == 200
    assert f"/engines/local/images/tag/{reference}/" not in detail.content.decode()
    assert f"/engines/local/images/remove/{reference}/" not in detail.content.decode()
    assert (
        client.post(f"/engines/local/images/tag/{reference}/", {"new_reference": "x:1"}).status_code
        == 403
    )
    assert client.get(f"/engines/local/images/remove/{reference}/").status_code == 403
    assert (
        client.post(f"/engines/local/images/remove/{reference}/", {"force": "on"}).status_code
        == 403
    )
    assert client.get("/engines/local/images/prune/").status_code == 403
    assert client.post("/engines/local/images/prune/").status_code == 403
    assert docker_api.inspect_image(image_id)["RepoTags"] == [reference]
    assert not AuditEntry.objects.exists()
