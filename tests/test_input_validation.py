"""Unchecked input never reaches the engine: URL parameters an engine couldn't accept are
404 before any engine call, numbers too big for the engine are a form error (never a 500), and
a symbolic link in a volume gets a clear answer instead of a broken download.

Each test sends what an attacker would: crafted paths as raw URLs, forms as served with the
overflowing value in one field.
"""

import threading

import pytest
from django.test import Client

from audit.models import AuditEntry
from images.models import Registry
from tests import engine as eng
from tests.engine_spy import spying_on_the_engine
from tests.pages import text

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
TOO_BIG = ("1e400", str(2**64), "9" * 400)


@pytest.fixture
def admin(admin_user):
    # raise_request_exception=False: a crash must show up as the 500 a browser would get.
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


# -- URL parameters ---------------------------------------------------------------------------


def crafted_paths(container_id: str, image_ref: str) -> list[tuple[str, str]]:
    """(method, path) an attacker sends raw (no browser to clean the `..` away)."""
    return [
        # The engine cleans /engines/local/images/x/../../containers/json into its container listing
        # (a 301 the client followed): the image page then crashed on a list.
        ("GET", "/engines/local/images/view/x/../../containers/"),
        ("GET", "/engines/local/images/remove/x/../../images/"),
        ("POST", "/engines/local/images/remove/x/../../images/"),
        ("POST", f"/engines/local/images/tag/x/../../containers/{container_id}/"),
        ("POST", "/engines/local/images/push/x/../../images/"),
        ("GET", f"/engines/local/images/view/{image_ref}/../../_ping/"),
        ("GET", "/engines/local/images/view/a/../b/"),
        ("GET", "/engines/local/images/view/sha256:../"),
        ("GET", "/engines/local/images/view/x%00y/"),
        ("GET", "/engines/local/images/view/" + "a" * 5000 + "/"),
        ("GET", "/engines/local/volumes/../files/"),
        ("GET", "/engines/local/volumes/../files/download/"),
        ("POST", "/engines/local/volumes/../remove/"),
        ("GET", "/engines/local/volumes/a b/files/"),
        ("GET", "/engines/local/volumes/a%00b/files/"),
        ("POST", "/engines/local/volumes/..%00/files/upload/"),
        ("GET", "/engines/local/networks/../"),
        ("GET", "/engines/local/networks/./"),
        ("POST", "/engines/local/networks/../remove/"),
        ("POST", "/engines/local/networks/../connect/"),
        ("GET", "/engines/local/networks/a%00b/"),
        ("GET", "/engines/local/containers/a%00b/"),
        ("POST", f"/engines/local/containers/{container_id}/stop%00/"),
        ("POST", f"/engines/local/containers/{container_id}/frobnicate/"),
        ("POST", "/engines/local/images/registries/" + "9" * 30 + "/delete/"),
        ("POST", "/engines/local/images/registries/99999999999999999999/delete/"),
    ]


@pytest.mark.django_db
def test_crafted_url_parameters_are_404_before_any_engine_call(
    admin, make_container, make_image, docker_api
):
    container = make_container(COMMAND)
    reference, image_id = make_image()
    Registry.objects.create(address="registry.example:5000", username="u", secret_encrypted="x")
    answers = {}
    with spying_on_the_engine() as spy:
        for method, path in crafted_paths(container["Id"], reference):
            mark = spy.mark()
            response = admin.get(path) if method == "GET" else admin.post(path)
            # The page's own calls: the live model's thread follows the shared engine meanwhile.
            calls = spy.since(mark, thread=threading.current_thread().name)
            answers[(method, path[:80])] = (response.status_code, len(calls))
    wrong = {key: answer for key, answer in answers.items() if answer != (404, 0)}
    assert not wrong, f"(status, engine requests) other than (404, 0): {wrong}"
    # Nothing reached the engine with a `..` in it, and nothing changed.
    assert not [r for r in spy.requests if ".." in r.path]
    assert docker_api.inspect_container(container["Id"])["State"]["Running"]
    assert docker_api.inspect_image(image_id)["RepoTags"] == [reference]
    assert Registry.objects.count() == 1
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_valid_url_parameters_still_reach_their_objects(admin, make_container, make_image):
    """The converters accept every shape the engine and the portal's own links use."""
    container = make_container(COMMAND)
    reference, image_id = make_image()
    repository = reference.split(":")[0]
    for path in (
        f"/engines/local/containers/{container['Id']}/",
        f"/engines/local/containers/{container['Id'][:12]}/overview/",
        f"/engines/local/containers/{container['Name'].lstrip('/')}/inspect/",
        f"/engines/local/images/view/{reference}/",
        f"/engines/local/images/view/{image_id}/",
        f"/engines/local/images/view/{image_id.split(':')[1][:12]}/",
        f"/engines/local/images/view/{repository}:1/",
        "/engines/local/networks/bridge/",
    ):
        assert admin.get(path).status_code == 200, path


# -- numbers too big ---------------------------------------------------------------------------


def settings_form(container_id: str, admin: Client) -> dict:
    """The Settings form as served (its prefilled values), ready to post for review."""
    response = admin.get(f"/engines/local/containers/{container_id}/settings/")
    assert response.status_code == 200
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("on" if v is True else "" if v in (None, False) else v) for k, v in data.items()}
    return {**data, "step": "review"}


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["memory", "cpus", "max_retries"])
def test_settings_numbers_too_big_are_a_form_error_not_a_500(
    admin, make_container, docker_api, field
):
    container = make_container(COMMAND, start=False)
    served = settings_form(container["Id"], admin)
    for value in TOO_BIG:
        data = {**served, field: value}
        if field == "max_retries":
            data["restart_policy"] = "on-failure"
        for step in ("review", "confirm"):
            response = admin.post(
                f"/engines/local/containers/{container['Id']}/settings/", {**data, "step": step}
            )
            assert response.status_code == 400, (field, value, step, response.status_code)
            errors = response.context["form"].errors
            assert field in errors, (field, value, errors)
    # The container was never recreated: same id, same limits, nothing but the admin's
    # reading of its environment (the Settings form shows it) in the trail.
    after = docker_api.inspect_container(container["Id"])
    assert after["HostConfig"]["Memory"] == container["HostConfig"]["Memory"]
    assert not AuditEntry.objects.exclude(action="container.read_env").exists()


@pytest.mark.django_db
def test_run_form_numbers_too_big_are_a_form_error_not_a_500(admin, test_image, docker_api):
    name = eng.unique_name("dwt-big")
    base = {
        "image": test_image,
        "name": name,
        "restart_policy": "on-failure",
        "labels": "\n".join(f"{k}={v}" for k, v in eng.TEST_LABELS.items()),
    }
    cases = [("restart_max_retries", {"restart_max_retries": value}) for value in TOO_BIG] + [
        ("ports", {"ports": value})
        for value in (f"{2**64}:80", f"80:{2**64}", "1e400:80", "²:80", "8080:²", "٨٠:80")
    ]
    for field, extra in cases:
        response = admin.post("/engines/local/containers/new/advanced/", {**base, **extra})
        assert response.status_code == 400, (extra, response.status_code)
        assert field in response.context["form"].errors, (extra, response.context["form"].errors)
    assert not docker_api.containers(all=True, filters={"name": [f"^/{name}$"]})


@pytest.mark.django_db
def test_network_numbers_too_big_are_a_form_error_not_a_500(admin, docker_api):
    name = eng.unique_name("dwt-bignet")
    for subnet in (f"10.9.0.0/{2**64}", "10.9.0.0/1e400", f"{2**64}/24", "10.9.0.0/²"):
        response = admin.post("/engines/local/networks/new/", {"name": name, "subnet": subnet})
        assert response.status_code == 400, (subnet, response.status_code)
        assert "subnet" in response.context["form"].errors
    assert not docker_api.networks(names=[name])


# -- a symbolic link in a volume -------------------------------------------------------------


@pytest.fixture
def volume_with_a_link(docker_api, make_container):
    """A volume holding real.txt and link.txt → real.txt, and an absolute link to /etc/passwd."""
    name = eng.unique_name("dwt-linkvol")
    docker_api.create_volume(name=name, labels=eng.TEST_LABELS)
    script = (
        "echo 'the real content' > /data/real.txt && busybox ln -s real.txt /data/link.txt"
        " && busybox ln -s /etc/passwd /data/outside"
    )
    container = make_container(
        ["sh", "-c", script], host_config={"binds": {name: {"bind": "/data", "mode": "rw"}}}
    )
    eng.wait_for(
        lambda: not docker_api.inspect_container(container["Id"])["State"]["Running"],
        message="the container filling the volume to finish",
    )
    assert docker_api.inspect_container(container["Id"])["State"]["ExitCode"] == 0
    docker_api.remove_container(container["Id"], force=True)
    yield name
    docker_api.remove_volume(name, force=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("link", "target"),
    [("link.txt", "/real.txt in this volume"), ("outside", "/etc/passwd, outside this volume")],
)
def test_downloading_a_symbolic_link_says_where_it_points_instead_of_a_broken_file(
    admin, volume_with_a_link, link, target
):
    response = admin.get(
        f"/engines/local/volumes/{volume_with_a_link}/files/download/", {"path": link}
    )
    if response.status_code == 200:
        body = b"".join(response.streaming_content)
        length = response.get("Content-Length")
        assert length is None or int(length) == len(body), (length, len(body))
        assert body == b"the real content\n", body
    else:
        assert response.status_code == 400, response.status_code
        # The page explaining it, not the link's length announced over an empty body.
        assert response["Content-Type"].startswith("text/html")
        assert int(response.get("Content-Length", len(response.content))) == len(response.content)
        page = text(response)
        assert f"/{link} is a symbolic link to {target}" in page, page[-600:]
        entry = AuditEntry.objects.get(action="volume.download")
        assert entry.outcome == AuditEntry.Outcome.FAILED


@pytest.mark.django_db
def test_a_regular_file_download_still_has_its_length(admin, volume_with_a_link):
    response = admin.get(
        f"/engines/local/volumes/{volume_with_a_link}/files/download/", {"path": "real.txt"}
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == b"the real content\n"
    assert int(response["Content-Length"]) == len(body)


@pytest.mark.django_db
def test_overlong_volume_paths_are_refused_before_the_engine(admin, volume_with_a_link):
    """A 5,000-byte path went to the engine, whose refusal showed as "engine unavailable"."""
    files = f"/engines/local/volumes/{volume_with_a_link}/files/"
    with spying_on_the_engine() as spy:
        responses = [
            admin.get(files, {"path": "a" * 5000}),
            admin.get(f"{files}download/", {"path": "a/" * 2100}),
            admin.post(f"{files}upload/", {"path": "a" * 300, "file": _upload("x.txt")}),
        ]
    assert [r.status_code for r in responses] == [400] * 3
    assert "at most 255 bytes" in text(responses[0])
    assert not [r for r in spy.requests if "/archive" in r.path]


def _upload(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"data\n")
