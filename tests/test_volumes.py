"""The volume list, create, remove (typed name, refused while used) and prune, on the real engine."""

import contextlib
import html
import re

import docker.errors
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.models import AuditEntry
from dockerweb.gateway import disk_usage
from tests.engine import (
    LABEL_KEY,
    SESSION,
    TEST_LABELS,
    settle_model,
    settle_volume,
    unique_name,
    wait_for,
)
from tests.pages import shown_messages, text

LABEL_LINES = "\n".join(f"{key}={value}" for key, value in TEST_LABELS.items())
SESSION_FILTER = {"label": [f"{LABEL_KEY}={SESSION}"]}
FILE_BYTES = 6000


@pytest.fixture
def volumes(docker_api):
    """volumes.make(name=None) → name of a labelled volume; volumes.track(name) for ones
    made by the portal. Each is removed after the test, with session containers using it."""
    names = []

    class Volumes:
        def make(self, name=None):
            answer = docker_api.create_volume(name=name, labels=TEST_LABELS)
            names.append(answer["Name"])
            settle_volume(answer["Name"])  # the pages read the live model
            return answer["Name"]

        def track(self, name):
            names.append(name)
            return name

    yield Volumes()
    for name in names:
        users = docker_api.containers(all=True, filters={**SESSION_FILTER, "volume": name})
        for container in users:
            with contextlib.suppress(docker.errors.NotFound):
                docker_api.remove_container(container["Id"], force=True)
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_volume(name, force=True)


def mounting(volume: str) -> dict:
    return {"binds": {volume: {"bind": "/data", "mode": "rw"}}}


def fill(make_container, docker_api, volume: str) -> None:
    """Write FILE_BYTES into the volume from a container, then remove that container."""
    container = make_container(
        ["sh", "-c", f"head -c {FILE_BYTES} /dev/zero > /data/file"],
        host_config=mounting(volume),
    )
    wait_for(
        lambda: not docker_api.inspect_container(container["Id"])["State"]["Running"],
        message="the writer container to finish",
    )
    assert docker_api.inspect_container(container["Id"])["State"]["ExitCode"] == 0
    docker_api.remove_container(container["Id"], force=True)
    settle_model(container["Id"], gone=True)  # the volume is unused for the pages too


def volume_exists(docker_api, name: str) -> bool:
    try:
        docker_api.inspect_volume(name)
    except docker.errors.NotFound:
        return False
    return True


def row_of(response, name: str) -> str | None:
    match = re.search(
        rf'<tr data-volume-row data-volume-name="{re.escape(name)}".*?</tr>',
        response.content.decode(),
        re.S,
    )
    return match.group(0) if match else None


def size_filled_in(sizes_fragment, name: str) -> int:
    """The bytes the sizes fragment puts in place of `name`'s "measuring…"."""
    match = re.search(
        rf'<span id="volume-size-{re.escape(name)}" data-size="(-?\d+)"[^>]* hx-swap-oob="true">',
        sizes_fragment.content.decode(),
    )
    assert match, f"no size for {name}"
    return int(match.group(1))


def field_errors(response, field: str) -> str:
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error"[^>]*>(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    return html.unescape(match.group(1)) if match else ""


# -- create -------------------------------------------------------------------------------


def test_create_form_makes_a_named_volume_with_its_labels(admin_client, docker_api, volumes):
    name = volumes.track(unique_name("dwt-vol"))

    response = admin_client.post(
        "/engines/local/volumes/new/",
        {"name": name, "driver": "local", "driver_opts": "", "labels": f"{LABEL_LINES}\nrole=db"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/engines/local/volumes/"
    volume = docker_api.inspect_volume(name)
    assert volume["Driver"] == "local"
    assert volume["Labels"] == {**TEST_LABELS, "role": "db"}
    entry = AuditEntry.objects.get(action="volume.create")
    assert (entry.outcome, entry.target_name) == (AuditEntry.Outcome.OK, name)
    assert f"Created volume {name}." in shown_messages(admin_client.get("/engines/local/volumes/"))


def test_data_volume_is_created_and_removed_through_the_forms(admin_client, docker_api, volumes):
    if volume_exists(docker_api, "data_volume"):
        pytest.skip("this engine already has a data_volume that isn't ours")
    volumes.track("data_volume")

    created = admin_client.post(
        "/engines/local/volumes/new/",
        {"name": "data_volume", "driver": "local", "labels": LABEL_LINES},
    )
    assert created.status_code == 302
    assert docker_api.inspect_volume("data_volume")["Labels"] == TEST_LABELS

    removed = admin_client.post(
        "/engines/local/volumes/data_volume/remove/", {"confirm_name": "data_volume"}
    )

    assert removed.status_code == 302
    assert not volume_exists(docker_api, "data_volume")


def test_empty_name_creates_an_anonymous_volume_marked_in_the_list(
    admin_client, docker_api, volumes
):
    marker = unique_name("anon")

    response = admin_client.post(
        "/engines/local/volumes/new/",
        {"name": "", "driver": "local", "labels": f"{LABEL_LINES}\nmark={marker}"},
    )

    assert response.status_code == 302
    found = docker_api.volumes(filters={"label": [f"mark={marker}"]})["Volumes"]
    assert len(found) == 1
    name = volumes.track(found[0]["Name"])
    assert re.fullmatch(r"[0-9a-f]{64}", name)
    row = row_of(admin_client.get("/engines/local/volumes/"), name)
    assert row is not None and "data-anonymous" in row and ">anonymous</span>" in row


@pytest.mark.parametrize(
    "options",
    ["type=none\no=bind\ndevice=/etc", "o=rbind", "device=/var/lib", "O=ro,bind"],
)
def test_bind_style_driver_options_are_refused_for_non_admins(db, docker_api, options):
    # Admins may, inside DOCKERWEB_BIND_ROOTS only: tests/test_bind_policy.py.
    user = User.objects.create_user("creator", password="pw-creator-1")
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_volume", "create_volume"], content_type__app_label="volumes"
        )
    )
    client = Client()
    client.force_login(user)
    name = unique_name("dwt-bind")

    response = client.post(
        "/engines/local/volumes/new/",
        {"name": name, "driver": "local", "driver_opts": options, "labels": LABEL_LINES},
    )

    assert response.status_code == 400
    assert "only admins may create them" in field_errors(response, "driver_opts")
    assert not volume_exists(docker_api, name)
    assert not AuditEntry.objects.exists()


def test_invalid_name_and_option_lines_are_refused_before_the_engine(admin_client, docker_api):
    response = admin_client.post(
        "/engines/local/volumes/new/",
        {"name": "bad name!", "driver": "local", "driver_opts": "no-equals", "labels": ""},
    )

    assert response.status_code == 400
    assert "at least 2 characters" in field_errors(response, "name")
    assert "needs the form KEY=VALUE" in field_errors(response, "driver_opts")
    assert not volume_exists(docker_api, "bad name!")


# -- list ---------------------------------------------------------------------------------


def test_list_shows_size_users_and_labels_and_filters(
    admin_client, docker_api, volumes, make_container
):
    name = volumes.make(unique_name("dwt-vol"))
    other = volumes.make(unique_name("dwt-other"))
    fill(make_container, docker_api, name)
    user = make_container(start=False, host_config=mounting(name))["Name"].lstrip("/")

    page = admin_client.get("/engines/local/volumes/")

    row = row_of(page, name)
    assert row is not None
    # The size comes after the page (tests/test_volume_sizes.py): the row holds its place.
    assert f'<span id="volume-size-{name}" class="size-pending"' in row
    disk_usage.forget()
    assert size_filled_in(admin_client.get("/engines/local/volumes/sizes/"), name) >= FILE_BYTES
    assert f'data-users="{user}"' in row
    assert f"{LABEL_KEY}={SESSION}" in row
    assert "data-anonymous" not in row
    assert 'data-users=""' in row_of(page, other)

    filtered = admin_client.get("/engines/local/volumes/", {"q": name})
    assert row_of(filtered, name) is not None
    assert row_of(filtered, other) is None


def test_a_new_volume_reaches_the_live_model_from_the_engines_event(volumes):
    from dockerweb import engines

    model = engines.current().live()
    name = volumes.make()
    wait_for(lambda: model.volume(name) is not None, timeout=30, message="the volume's event")


# -- remove -------------------------------------------------------------------------------


def test_remove_is_refused_while_a_stopped_container_uses_it_naming_it(
    admin_client, docker_api, volumes, make_container
):
    name = volumes.make(unique_name("dwt-vol"))
    user = make_container(start=False, host_config=mounting(name))["Name"].lstrip("/")

    confirm = admin_client.get(f"/engines/local/volumes/{name}/remove/")
    assert confirm.status_code == 200
    assert f"In use by 1 container (running or not): {user}." in text(confirm)

    response = admin_client.post(f"/engines/local/volumes/{name}/remove/", {"confirm_name": name})

    assert response.status_code == 409
    assert f"{name} is used by {user}. Remove that container first." in text(response)
    assert volume_exists(docker_api, name)
    entry = AuditEntry.objects.get(action="volume.remove")
    assert entry.outcome == AuditEntry.Outcome.FAILED


def test_remove_needs_the_typed_name(admin_client, docker_api, volumes):
    name = volumes.make(unique_name("dwt-vol"))

    confirm = admin_client.get(f"/engines/local/volumes/{name}/remove/")
    assert 'name="confirm_name"' in confirm.content.decode()
    wrong = admin_client.post(
        f"/engines/local/volumes/{name}/remove/", {"confirm_name": name + "x"}
    )

    assert wrong.status_code == 400
    assert f"Type the volume's name, {name}, to confirm." in text(wrong)
    assert volume_exists(docker_api, name)

    right = admin_client.post(f"/engines/local/volumes/{name}/remove/", {"confirm_name": name})

    assert right.status_code == 302
    assert not volume_exists(docker_api, name)
    entry = AuditEntry.objects.get(action="volume.remove")
    assert (entry.outcome, entry.target_name) == (AuditEntry.Outcome.OK, name)


def test_remove_of_a_missing_volume_is_404(admin_client):
    assert (
        admin_client.get(f"/engines/local/volumes/{unique_name('gone')}/remove/").status_code == 404
    )


# -- prune --------------------------------------------------------------------------------


def test_prune_shows_the_unused_volume_then_reports_reclaimed_space(
    admin_client, docker_api, volumes, make_container
):
    name = volumes.make()  # anonymous: pruned by old and new engines alike
    fill(make_container, docker_api, name)

    preview = admin_client.get("/engines/local/volumes/prune/")
    assert preview.status_code == 200
    listed = re.search(rf'<tr data-volume-name="{name}">.*?</tr>', preview.content.decode(), re.S)
    assert listed and f'id="volume-size-{name}" class="size-pending"' in listed.group(0)
    disk_usage.forget()
    sizes = admin_client.get("/engines/local/volumes/sizes/", {"unused": "1"})
    assert size_filled_in(sizes, name) >= FILE_BYTES
    total = int(re.search(r'data-size-total="(\d+)"', sizes.content.decode()).group(1))
    assert total >= FILE_BYTES

    response = admin_client.post("/engines/local/volumes/prune/")

    assert response.status_code == 302
    assert not volume_exists(docker_api, name)
    summary = shown_messages(admin_client.get("/engines/local/volumes/"))[0]
    reclaimed = int(re.search(r"\((\d+) bytes\)", summary).group(1))
    assert summary.startswith("Pruned ")
    assert reclaimed >= FILE_BYTES
    entry = AuditEntry.objects.get(action="volume.prune")
    assert entry.outcome == AuditEntry.Outcome.OK and name in entry.detail


# -- permissions --------------------------------------------------------------------------


@pytest.fixture
def viewer_client(db):
    user = User.objects.create_user("viewer", password="pw-viewer-1")
    user.user_permissions.add(
        Permission.objects.get(codename="view_volume", content_type__app_label="volumes")
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_viewer_sees_the_list_but_cannot_create_remove_or_prune(
    viewer_client, docker_api, volumes
):
    name = volumes.make(unique_name("dwt-vol"))
    new_name = unique_name("dwt-denied")

    page = viewer_client.get("/engines/local/volumes/")
    assert page.status_code == 200 and row_of(page, name) is not None
    assert "/engines/local/volumes/new/" not in page.content.decode()

    assert viewer_client.get("/engines/local/volumes/new/").status_code == 403
    denied = viewer_client.post(
        "/engines/local/volumes/new/", {"name": new_name, "labels": LABEL_LINES}
    )
    assert denied.status_code == 403
    assert viewer_client.get(f"/engines/local/volumes/{name}/remove/").status_code == 403
    assert (
        viewer_client.post(
            f"/engines/local/volumes/{name}/remove/", {"confirm_name": name}
        ).status_code
        == 403
    )
    assert viewer_client.get("/engines/local/volumes/prune/").status_code == 403
    assert viewer_client.post("/engines/local/volumes/prune/").status_code == 403

    assert volume_exists(docker_api, name)
    assert not volume_exists(docker_api, new_name)
    assert not AuditEntry.objects.exists()
