"""The roles a fresh portal comes with (Viewer, Operator), used as an admin would assign them."""

import importlib
import re
import uuid
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group

from roles.definitions import ROLES, install_roles
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(autouse=True)
def roles():
    # A transactional test elsewhere flushes the database, migration data included.
    install_roles(django_apps, ROLES)


def member_of(role: str):
    return client_for(make_user(f"{role.lower()}-{uuid.uuid4().hex[:6]}", groups=(role,)))


def test_the_migration_creates_exactly_the_documented_roles():
    first = importlib.import_module("roles.migrations.0001_viewer_and_operator").ROLES
    swarm = importlib.import_module("swarm.migrations.0002_roles").ADDED
    assert {name: set(first[name]) | set(swarm[name]) for name in first} == {
        name: set(permissions) for name, permissions in ROLES.items()
    }
    for name, permissions in ROLES.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == set(permissions), name


def test_the_readme_role_table_lists_each_roles_permissions():
    readme = README.read_text()
    for name, permissions in ROLES.items():
        row = re.search(rf"^\| \*\*{name}\*\* \|(.*)$", readme, re.M)
        assert row, f"README has no row for {name}"
        listed = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", row.group(1)))
        assert listed == set(permissions), name


def test_no_role_holds_secrets():
    for permissions in ROLES.values():
        assert "containers.view_env" not in permissions
        assert "volumes.read_volume_files" not in permissions


def test_a_viewer_sees_every_list_but_changes_nothing(make_container, docker_api):
    viewer = member_of("Viewer")
    cid = make_container(COMMAND, environment={"TOKEN": "viewer-must-not-see"})["Id"]

    for path in (
        "/engines/local/containers/",
        f"/engines/local/containers/{cid}/",
        "/engines/local/images/",
        "/engines/local/volumes/",
        "/engines/local/networks/",
    ):
        assert viewer.get(path).status_code == 200, path
    assert viewer.get("/engines/local/jobs/").status_code == 200
    assert viewer.get("/engines/local/audit/").status_code == 200
    assert (
        "viewer-must-not-see"
        not in viewer.get(f"/engines/local/containers/{cid}/inspect/?show=env").content.decode()
    )
    for path in (
        "/engines/local/containers/new/",
        "/engines/local/containers/new/advanced/",
        "/engines/local/images/pull/",
        "/engines/local/volumes/new/",
        "/engines/local/networks/new/",
    ):
        assert viewer.get(path).status_code == 403, path
    assert viewer.post(f"/engines/local/containers/{cid}/stop/").status_code == 403
    assert docker_api.inspect_container(cid)["State"]["Running"]


def test_an_operator_runs_stops_and_removes_but_reads_no_secrets(make_container, docker_api):
    operator = member_of("Operator")
    cid = make_container(COMMAND, environment={"TOKEN": "operator-must-not-see"})["Id"]

    assert operator.post(f"/engines/local/containers/{cid}/stop/").status_code == 302
    assert not docker_api.inspect_container(cid)["State"]["Running"]
    assert (
        "operator-must-not-see"
        not in operator.get(f"/engines/local/containers/{cid}/overview/?show=env").content.decode()
    )
    assert (
        "operator-must-not-see"
        not in operator.get(f"/engines/local/containers/{cid}/settings/").content.decode()
    )
    assert operator.get("/engines/local/images/registries/").status_code == 403
    assert operator.get("/engines/local/volumes/no-such-volume/files/").status_code == 403
    assert operator.post(f"/engines/local/containers/{cid}/remove/").status_code == 302
    assert not docker_api.containers(all=True, filters={"id": [cid]})
