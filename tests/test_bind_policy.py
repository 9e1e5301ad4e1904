"""Bind mounts of host paths: admins only, only inside DOCKERWEB_BIND_ROOTS, whichever field."""

import contextlib
import os
import re

import docker.errors
import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client

from audit.models import AuditEntry
from dockerweb.env import env_abs_paths
from dockerweb.host_access.binds import ADMINS_ONLY, DISABLED, REMOTE_ENGINE, check_bind_source
from tests.engine import TEST_LABELS, unique_name, wait_for

LABEL_LINES = "\n".join(f"{key}={value}" for key, value in TEST_LABELS.items())
ADMIN = User(username="root-like", is_superuser=True)
STAFF = User(username="staff", is_staff=True)


@pytest.fixture
def root(settings, tmp_path):
    """An allowed bind root (read from settings at call time), with a folder outside it."""
    allowed = tmp_path / "root"
    (allowed / "data").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    settings.BIND_ROOTS = [str(allowed)]
    return allowed


def refusal(path, user=ADMIN) -> str:
    with pytest.raises(ValidationError) as caught:
        check_bind_source(str(path), user)
    (message,) = caught.value.messages
    return message


# -- the policy ------------------------------------------------------------------------------


def test_a_folder_inside_the_root_is_allowed_as_its_real_path(root):
    (root / "alias").symlink_to(root / "data")

    assert check_bind_source(str(root / "data"), ADMIN) == os.path.realpath(root / "data")
    assert check_bind_source(f"{root}/alias", ADMIN) == os.path.realpath(root / "data")


def test_dot_dot_is_refused_even_when_it_stays_inside(root):
    assert "may not contain “..”" in refusal(f"{root}/data/../data")
    assert "may not contain “..”" in refusal(f"{root}/../outside")


def test_a_symlink_inside_the_root_pointing_outside_is_refused(root, tmp_path):
    (root / "escape").symlink_to(tmp_path / "outside")

    assert "outside the allowed bind roots" in refusal(root / "escape")
    assert "outside the allowed bind roots" in refusal(f"{root}/escape/")


def test_a_sibling_sharing_the_roots_name_prefix_is_outside(root, tmp_path):
    (tmp_path / "rootother").mkdir()

    assert "outside the allowed bind roots" in refusal(tmp_path / "rootother")


@pytest.mark.parametrize(
    "user", [None, STAFF, User(username="plain")], ids=["anon", "staff", "user"]
)
def test_only_superusers_may_bind(root, user):
    assert refusal(root / "data", user) == ADMINS_ONLY


def test_no_roots_configured_means_no_binds(settings, tmp_path):
    settings.BIND_ROOTS = []

    assert refusal(tmp_path) == DISABLED


def test_relative_paths_are_refused(root):
    assert "must be absolute" in refusal("data/x")


def test_binds_are_refused_for_a_remote_engine(root, settings):
    settings.DOCKER_HOST = "tcp://192.0.2.1:2375"

    assert refusal(root / "data") == REMOTE_ENGINE


def test_missing_host_paths_are_refused(root):
    assert "does not exist" in refusal(root / "nothing-here")


def test_bind_roots_setting_must_be_absolute(monkeypatch):
    monkeypatch.setenv("DOCKERWEB_BIND_ROOTS", "/srv/data, relative/dir")
    with pytest.raises(ImproperlyConfigured, match="relative/dir"):
        env_abs_paths("DOCKERWEB_BIND_ROOTS")
    monkeypatch.setenv("DOCKERWEB_BIND_ROOTS", "/srv/data,/mnt/x")
    assert env_abs_paths("DOCKERWEB_BIND_ROOTS") == ["/srv/data", "/mnt/x"]
    monkeypatch.delenv("DOCKERWEB_BIND_ROOTS")
    assert env_abs_paths("DOCKERWEB_BIND_ROOTS") == []


# -- the run form, on the real engine --------------------------------------------------------


@pytest.fixture
def cleanup(docker_api):
    names = {"containers": [], "volumes": []}
    yield names
    for name in names["containers"]:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(name, force=True, v=True)
    for name in names["volumes"]:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_volume(name, force=True)


def non_admin(*permissions: str) -> Client:
    user = User.objects.create_user("operator", password="pw-operator-1")
    for permission in permissions:
        app, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label=app)
        )
    client = Client()
    client.force_login(user)
    return client


def run_form(image: str, name: str, volumes: str) -> dict:
    return {
        "image": image,
        "name": name,
        "command": "sh -c 'echo written > /rw/out; sleep 300'",
        "volumes": volumes,
        "restart_policy": "no",
        "labels": LABEL_LINES,
    }


def volume_errors(response) -> list[str]:
    return response.context["form"].errors.get("volumes", [])


def test_admin_binds_folders_inside_the_root_with_their_modes(
    root, admin_client, docker_api, test_image, cleanup
):
    (root / "ro").mkdir()
    name = unique_name("bind")
    cleanup["containers"].append(name)
    volumes = f"{root}/data:/rw\n{root}/ro:/ro:ro"

    response = admin_client.post(
        "/engines/local/containers/new/advanced/", run_form(test_image, name, volumes)
    )

    assert response.status_code == 302, volume_errors(response)
    mounts = {m["Destination"]: m for m in docker_api.inspect_container(name)["Mounts"]}
    assert mounts["/rw"]["Type"] == "bind" and mounts["/rw"]["RW"] is True
    assert mounts["/rw"]["Source"] == os.path.realpath(root / "data")
    assert mounts["/ro"]["Type"] == "bind" and mounts["/ro"]["RW"] is False
    # The container really writes into the host folder.
    wait_for(lambda: (root / "data" / "out").exists(), message="the container's write")
    assert (root / "data" / "out").read_text() == "written\n"
    entry = AuditEntry.objects.get(action="container.run", target_name=name)
    assert f"{os.path.realpath(root / 'data')}→/rw (rw)" in entry.detail
    assert f"{os.path.realpath(root / 'ro')}→/ro (ro)" in entry.detail
    overview = admin_client.get(f"/engines/local/containers/{name}/overview/").content.decode()
    # The Overview's mounts show the bind's host path (cut to its box, whole in the title).
    binds = re.findall(r"<td>bind</td>.*?</tr>", overview, re.S)
    assert any(f'title="{root}/ro"' in row for row in binds), binds
    assert "read-only" in overview and "read-write" in overview


def test_a_non_admin_cannot_bind_through_the_run_form(root, db, docker_api, test_image, cleanup):
    client = non_admin("containers.view_container", "containers.create_container")
    name = unique_name("bind")
    cleanup["containers"].append(name)

    response = client.post(
        "/engines/local/containers/new/advanced/", run_form(test_image, name, f"{root}/data:/rw")
    )

    assert response.status_code == 400
    assert ADMINS_ONLY in " ".join(volume_errors(response))
    assert not docker_api.containers(all=True, filters={"name": f"^/{name}$"})


@pytest.mark.parametrize(
    ("host_path", "expected"),
    [
        ("{tmp}/outside", "outside the allowed bind roots"),
        ("{root}/../outside", "may not contain “..”"),
        ("{root}/escape", "outside the allowed bind roots"),
        ("./data", "only absolute host paths"),
    ],
    ids=["outside-roots", "dot-dot", "symlink-escape", "relative"],
)
def test_admin_bind_tricks_are_refused_on_the_run_form(
    root, tmp_path, admin_client, docker_api, test_image, cleanup, host_path, expected
):
    (root / "escape").symlink_to(tmp_path / "outside")
    path = host_path.format(tmp=tmp_path, root=root)
    name = unique_name("bind")
    cleanup["containers"].append(name)

    response = admin_client.post(
        "/engines/local/containers/new/advanced/", run_form(test_image, name, f"{path}:/rw")
    )

    assert response.status_code == 400
    assert expected in " ".join(volume_errors(response))
    assert not docker_api.containers(all=True, filters={"name": f"^/{name}$"})


# -- volume driver options (type=none, o=bind, device=…) --------------------------------------


def bind_volume_form(name: str, device: str) -> dict:
    return {
        "name": name,
        "driver": "local",
        "driver_opts": f"type=none\no=bind\ndevice={device}",
        "labels": LABEL_LINES,
    }


def driver_opts_errors(response) -> str:
    return " ".join(response.context["form"].errors.get("driver_opts", []))


def test_admin_creates_a_bind_volume_inside_the_root_and_it_is_audited(
    root, admin_client, docker_api, cleanup
):
    name = unique_name("bindvol")
    cleanup["volumes"].append(name)

    response = admin_client.post(
        "/engines/local/volumes/new/", bind_volume_form(name, f"{root}/data")
    )

    assert response.status_code == 302, driver_opts_errors(response)
    options = docker_api.inspect_volume(name)["Options"]
    assert options == {"type": "none", "o": "bind", "device": os.path.realpath(root / "data")}
    entry = AuditEntry.objects.get(action="volume.create", target_name=name)
    assert os.path.realpath(root / "data") in entry.detail


def test_a_non_admin_cannot_bind_through_volume_driver_options(root, db, docker_api):
    client = non_admin("volumes.view_volume", "volumes.create_volume")
    name = unique_name("bindvol")

    response = client.post("/engines/local/volumes/new/", bind_volume_form(name, f"{root}/data"))

    assert response.status_code == 400
    assert "only admins may create them" in driver_opts_errors(response)
    assert not docker_api.volumes(filters={"name": name})["Volumes"]


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("{tmp}/outside", "outside the allowed bind roots"),
        ("{root}/../outside", "may not contain “..”"),
        ("{root}/escape", "outside the allowed bind roots"),
    ],
    ids=["outside-roots", "dot-dot", "symlink-escape"],
)
def test_admin_bind_tricks_are_refused_in_volume_driver_options(
    root, tmp_path, admin_client, docker_api, device, expected
):
    (root / "escape").symlink_to(tmp_path / "outside")
    name = unique_name("bindvol")

    response = admin_client.post(
        "/engines/local/volumes/new/",
        bind_volume_form(name, device.format(tmp=tmp_path, root=root)),
    )

    assert response.status_code == 400
    assert expected in driver_opts_errors(response)
    assert not docker_api.volumes(filters={"name": name})["Volumes"]


def test_other_device_options_are_refused_even_for_admins(root, admin_client, docker_api):
    name = unique_name("bindvol")

    response = admin_client.post(
        "/engines/local/volumes/new/",
        {
            "name": name,
            "driver": "local",
            "driver_opts": f"type=tmpfs\ndevice={root}/data",
            "labels": LABEL_LINES,
        },
    )

    assert response.status_code == 400
    assert "needs driver local and exactly the options" in driver_opts_errors(response)
    assert not docker_api.volumes(filters={"name": name})["Volumes"]
