"""Secrets need their own permission, and every read is in the activity trail: containers'
environment values (finding 6) and the files inside volumes (finding 12)."""

import uuid

import pytest

from audit.models import AuditEntry
from tests import engine as eng
from tests.users import client_for, make_user, operator_client

pytestmark = pytest.mark.django_db

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
SEE_ENV = "containers.view_env"
READ_FILES = "volumes.read_volume_files"


@pytest.fixture
def secret():
    return f"s3cr3t-{uuid.uuid4().hex}"


@pytest.fixture
def container_with_secret(make_container, secret):
    return make_container(COMMAND, environment={"API_TOKEN": secret, "MODE": "prod"})


def pages_of(cid: str) -> list[str]:
    return [
        f"/engines/local/containers/{cid}/",
        f"/engines/local/containers/{cid}/overview/",
        f"/engines/local/containers/{cid}/inspect/",
        f"/engines/local/containers/{cid}/overview/?show=env",
        f"/engines/local/containers/{cid}/inspect/?show=env",
    ]


def test_a_viewer_never_receives_environment_values(container_with_secret, secret):
    viewer = client_for(make_user("viewer", "containers.view_container"))
    cid = container_with_secret["Id"]

    for path in pages_of(cid):
        page = viewer.get(path)
        assert page.status_code == 200, path
        body = page.content.decode()
        assert secret not in body, f"{path} sent the value"
    # The names stay visible: they are not secrets.
    assert "API_TOKEN" in viewer.get(f"/engines/local/containers/{cid}/overview/").content.decode()
    assert not AuditEntry.objects.filter(action="container.read_env").exists()


def test_an_operator_editing_settings_never_receives_environment_values(
    container_with_secret, secret, docker_api
):
    operator = operator_client()
    cid = container_with_secret["Id"]

    page = operator.get(f"/engines/local/containers/{cid}/settings/")

    assert page.status_code == 200
    assert secret not in page.content.decode()
    assert "API_TOKEN" in page.content.decode()
    # Changing something else keeps the hidden values as they were.
    data = {k: "" if v is None else v for k, v in page.context["form"].initial.items()}
    data["restart_policy"] = "always"
    done = operator.post(f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"})
    assert done.status_code == 302, done.content.decode()[:3000]
    new_id = done["Location"].split("/")[4]
    assert f"API_TOKEN={secret}" in docker_api.inspect_container(new_id)["Config"]["Env"]


def test_seeing_environment_values_takes_the_permission_and_is_audited(
    container_with_secret, secret
):
    reader = make_user("env-reader", "containers.view_container", SEE_ENV)
    client = client_for(reader)
    cid = container_with_secret["Id"]

    plain = client.get(f"/engines/local/containers/{cid}/overview/")
    assert secret not in plain.content.decode(), "values are shown only when asked for"
    assert "Show values" in plain.content.decode()

    for path in (
        f"/engines/local/containers/{cid}/overview/?show=env",
        f"/engines/local/containers/{cid}/inspect/?show=env",
    ):
        assert secret in client.get(path).content.decode(), path

    reads = AuditEntry.objects.filter(action="container.read_env")
    assert reads.count() == 2
    assert {r.username for r in reads} == {"env-reader"}
    assert {r.target_id for r in reads} == {cid}
    assert all(secret not in r.detail for r in reads)


# -- volume files ------------------------------------------------------------------------------


@pytest.fixture
def volume_with_file(docker_api, make_container, secret):
    name = eng.unique_name("dwt-secretvol")
    docker_api.create_volume(name, labels=eng.TEST_LABELS)
    writer = make_container(
        ["sh", "-c", f"echo {secret} > /data/key.txt"],
        host_config={"binds": {name: {"bind": "/data", "mode": "rw"}}},
    )
    eng.wait_for(
        lambda: not docker_api.inspect_container(writer["Id"])["State"]["Running"],
        message="the writer to finish",
    )
    docker_api.remove_container(writer["Id"], force=True)
    yield name
    docker_api.remove_volume(name, force=True)


def file_urls(name: str) -> list[str]:
    return [
        f"/engines/local/volumes/{name}/files/",
        f"/engines/local/volumes/{name}/files/?path=key.txt",
        f"/engines/local/volumes/{name}/files/download/?path=key.txt",
    ]


def test_seeing_volumes_does_not_mean_reading_their_files(volume_with_file, secret):
    viewer = client_for(make_user("vol-viewer", "volumes.view_volume"))

    for url in file_urls(volume_with_file):
        response = viewer.get(url)
        assert response.status_code == 403, url
        assert secret.encode() not in b"".join(
            getattr(response, "streaming_content", None) or [response.content]
        )
    assert "Browse files" not in viewer.get("/engines/local/volumes/").content.decode()


def test_reading_volume_files_takes_the_permission_and_every_read_is_audited(
    volume_with_file, secret
):
    reader = client_for(make_user("vol-reader", "volumes.view_volume", READ_FILES))

    listing = reader.get(f"/engines/local/volumes/{volume_with_file}/files/")
    assert listing.status_code == 200 and "key.txt" in listing.content.decode()
    shown = reader.get(f"/engines/local/volumes/{volume_with_file}/files/?path=key.txt")
    assert secret in shown.content.decode()
    download = reader.get(f"/engines/local/volumes/{volume_with_file}/files/download/?path=key.txt")
    assert secret.encode() in b"".join(download.streaming_content)

    actions = list(
        AuditEntry.objects.filter(username="vol-reader")
        .order_by("id")
        .values_list("action", "target_name")
    )
    assert actions == [
        ("volume.browse", volume_with_file),
        ("volume.read_file", volume_with_file),
        ("volume.download", volume_with_file),
    ]
