"""The host-access policy, attacked the way an Operator (create, remove, volumes, no admin)
would: through the run form and the Settings tab as served, judged by what the engine holds
afterwards."""

import contextlib
import re

import docker.errors
import pytest

from audit.models import AuditEntry
from tests import engine as eng
from tests.pages import text
from tests.users import operator_client

pytestmark = pytest.mark.django_db

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


@pytest.fixture
def operator():
    return operator_client()


@pytest.fixture
def volume(docker_api):
    """volume(**create kwargs) → the name of a labelled volume, removed after the test."""
    made = []

    def make(**kwargs):
        name = eng.unique_name("dwt-hvol")
        docker_api.create_volume(name, labels=eng.TEST_LABELS, **kwargs)
        made.append(name)
        return name

    yield make
    for name in made:
        users = docker_api.containers(
            all=True, filters={"volume": name, "label": [f"{eng.LABEL_KEY}={eng.SESSION}"]}
        )
        for item in users:
            with contextlib.suppress(docker.errors.NotFound):
                docker_api.remove_container(item["Id"], force=True)
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_volume(name, force=True)


def containers_named(docker_api, name: str) -> list[dict]:
    return docker_api.containers(all=True, filters={"name": [f"^/{re.escape(name)}$"]})


@pytest.fixture
def cleanup_named(docker_api):
    """Names of containers a test asks the portal to create; removed afterwards if they exist."""
    names: list[str] = []
    yield names
    for name in names:
        for item in containers_named(docker_api, name):
            docker_api.remove_container(item["Id"], force=True, v=True)


def run_form(image: str, name: str, **fields) -> dict:
    return {"image": image, "name": name, "restart_policy": "no", **fields}


# -- Settings: a user's code inside a more privileged container (finding 2) --------------------


def _settings_data(client, cid: str, **changes) -> dict:
    page = client.get(f"/engines/local/containers/{cid}/settings/")
    data = {
        key: "" if value is None else value for key, value in page.context["form"].initial.items()
    }
    data.update(changes)
    return data


def test_an_operator_cannot_mount_their_volume_over_bin_of_an_admins_privileged_container(
    operator, docker_api, make_container, volume, tmp_path
):
    # The admin's container: SYS_ADMIN and a host folder, as `docker run --cap-add` made it.
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    admins = make_container(
        COMMAND,
        host_config={
            "cap_add": ["SYS_ADMIN"],
            "binds": {str(host_dir): {"bind": "/host", "mode": "rw"}},
        },
    )
    cid = admins["Id"]
    payload = volume()
    data = _settings_data(operator, cid)
    data["volumes"] = "\n".join(filter(None, [data["volumes"], f"{payload}:/bin"]))

    for step in ("review", "confirm"):
        response = operator.post(
            f"/engines/local/containers/{cid}/settings/", {**data, "step": step}
        )
        assert response.status_code in (400, 403), (step, response.status_code)
        assert "host access" in text(response)

    # The engine: the admin's container is the same one, and nothing mounts the payload.
    after = docker_api.inspect_container(cid)
    assert after["State"]["Running"]
    assert {m["Destination"] for m in after["Mounts"]} == {"/host"}
    assert docker_api.containers(all=True, filters={"volume": payload}) == []


def test_the_settings_tab_tells_an_operator_why_a_host_access_container_is_admins_only(
    operator, make_container
):
    # Created, not started: this engine runs in a sandbox that can't start privileged ones.
    cid = make_container(COMMAND, start=False, host_config={"privileged": True})["Id"]

    page = operator.get(f"/engines/local/containers/{cid}/settings/")

    assert page.status_code == 200
    assert "Only administrators can change the settings of this container" in text(page)
    assert "privileged" in text(page)


def test_an_admin_may_still_recreate_a_container_with_host_access(
    admin_client, docker_api, make_container
):
    cid = make_container(COMMAND, host_config={"cap_add": ["NET_ADMIN"]})["Id"]
    data = _settings_data(admin_client, cid)
    data["env"] = "ADDED=1"

    done = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )

    assert done.status_code == 302, text(done)
    new_id = done["Location"].split("/")[4]
    assert docker_api.inspect_container(new_id)["HostConfig"]["CapAdd"] == ["NET_ADMIN"]


def test_an_operator_may_change_an_ordinary_container(operator, docker_api, make_container, volume):
    cid = make_container(COMMAND)["Id"]
    data = _settings_data(operator, cid)
    data["volumes"] = f"{volume()}:/data"

    done = operator.post(f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"})

    assert done.status_code == 302, text(done)
    new_id = done["Location"].split("/")[4]
    assert {m["Destination"] for m in docker_api.inspect_container(new_id)["Mounts"]} == {"/data"}


# -- host access through a volume the admin made (the class behind findings 1 and 2) ------------


def test_an_operator_cannot_reach_a_host_folder_through_an_admins_bind_style_volume(
    operator, docker_api, volume, test_image, cleanup_named, tmp_path
):
    host_dir = tmp_path / "exported"
    host_dir.mkdir()
    bound = volume(
        driver="local", driver_opts={"type": "none", "o": "bind", "device": str(host_dir)}
    )
    name = eng.unique_name("dwt-hbind")
    cleanup_named.append(name)

    response = operator.post(
        "/engines/local/containers/new/advanced/",
        run_form(test_image, name, volumes=f"{bound}:/data", command="sleep 60"),
    )

    assert response.status_code == 400
    assert "host" in " ".join(response.context["form"].errors.get("volumes", []))
    assert containers_named(docker_api, name) == []


def test_an_operator_cannot_share_a_volume_with_an_admins_privileged_container(
    operator, docker_api, make_container, volume, test_image, cleanup_named
):
    # Whatever the operator writes into the shared volume, the admin's container may run
    # with its capabilities.
    shared = volume()
    make_container(
        COMMAND,
        host_config={"cap_add": ["SYS_ADMIN"], "binds": {shared: {"bind": "/app", "mode": "rw"}}},
    )
    name = eng.unique_name("dwt-hshare")
    cleanup_named.append(name)

    response = operator.post(
        "/engines/local/containers/new/advanced/",
        run_form(test_image, name, volumes=f"{shared}:/data", command="sleep 60"),
    )

    assert response.status_code == 400
    assert "host access" in " ".join(response.context["form"].errors.get("volumes", []))
    assert containers_named(docker_api, name) == []


def test_an_operator_cannot_mount_a_volume_over_a_system_path(
    operator, docker_api, test_image, cleanup_named
):
    name = eng.unique_name("dwt-hsys")
    cleanup_named.append(name)

    response = operator.post(
        "/engines/local/containers/new/advanced/",
        run_form(test_image, name, volumes="/etc", command="sleep 60"),
    )

    assert response.status_code == 400
    assert "/etc" in " ".join(response.context["form"].errors.get("volumes", []))
    assert containers_named(docker_api, name) == []


# -- hiding a container from the portal (finding 7) ----------------------------------------------


def test_an_operator_cannot_set_the_portals_helper_label_in_the_run_form(
    operator, docker_api, test_image, cleanup_named
):
    name = eng.unique_name("dwt-hide")
    cleanup_named.append(name)

    response = operator.post(
        "/engines/local/containers/new/advanced/",
        run_form(test_image, name, labels="dockerweb.helper=1", command="sleep 60"),
    )

    assert response.status_code == 400
    assert "dockerweb." in " ".join(response.context["form"].errors["labels"])
    assert containers_named(docker_api, name) == []


def test_an_operator_cannot_add_the_helper_label_through_settings(
    operator, docker_api, make_container
):
    cid = make_container(COMMAND)["Id"]
    data = _settings_data(operator, cid)
    data["labels"] = data["labels"] + "\ndockerweb.helper=1"

    response = operator.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )

    assert response.status_code == 400
    labels = docker_api.inspect_container(cid)["Config"]["Labels"]
    assert "dockerweb.helper" not in labels


def test_a_container_cannot_inherit_the_helper_label_from_an_image(
    operator, docker_api, cleanup_named
):
    # What `LABEL dockerweb.helper=1` in a Dockerfile built by the portal gives.
    reference = f"{eng.unique_name('dwt-helperimg')}:1"
    eng.build_busybox_image(docker_api, reference, {**eng.TEST_LABELS, "dockerweb.helper": "1"})
    name = eng.unique_name("dwt-inherit")
    cleanup_named.append(name)
    try:
        response = operator.post(
            "/engines/local/containers/new/advanced/", run_form(reference, name, command="sleep 60")
        )

        assert response.status_code == 400
        assert "dockerweb.helper" in text(response)
        assert containers_named(docker_api, name) == []
    finally:
        docker_api.remove_image(reference, force=True)


def test_a_container_carrying_the_helper_label_is_listed_anyway(admin_client, make_container):
    # Made outside the portal (the CLI): the label alone no longer hides anything.
    made = make_container(COMMAND, labels={"dockerweb.helper": "1"})
    name = made["Name"].lstrip("/")

    listing = admin_client.get(f"/engines/local/containers/?q={name}")
    assert made["Id"] in listing.content.decode()
    sidebar = admin_client.get(f"/engines/local/containers/sidebar/?q={name}")
    assert name in sidebar.content.decode()

    from dockerweb import engines

    assert engines.current().live().container(made["Id"]) is not None


# -- volume drivers (finding 1) ------------------------------------------------------------------

TRAVERSAL_DRIVER = "a/../../../../var/lib/docker/volumes/x/_data/p"


@pytest.mark.parametrize(
    "driver", [TRAVERSAL_DRIVER, "no-such-driver", "local/../../x", "../local"]
)
def test_a_volume_driver_off_the_allow_list_is_refused_before_the_engine_is_asked(
    driver, monkeypatch, admin_client
):
    from dockerweb import gateway

    asked = []

    def spy(*args, **kwargs):
        # Never let the shared engine look for a plugin spec (see TOOLCHAIN.md).
        asked.append((args, kwargs))
        raise gateway.EngineError("the test stopped this request before the engine")

    monkeypatch.setattr(gateway.volumes, "create_volume", spy)
    name = eng.unique_name("dwt-drv")

    response = admin_client.post("/engines/local/volumes/new/", {"name": name, "driver": driver})

    assert asked == []
    assert response.status_code == 400
    assert response.context["form"].errors["driver"]
    assert not AuditEntry.objects.filter(outcome="ok").exists()


def test_the_create_volume_form_offers_the_engines_volume_drivers(admin_client):
    page = admin_client.get("/engines/local/volumes/new/")

    assert re.search(r'<select name="driver"[^>]*>', page.content.decode())
    assert '<option value="local" selected>' in page.content.decode()
