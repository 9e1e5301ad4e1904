"""The "New container" form against the real engine: what it runs, and what it refuses."""

import contextlib
import html
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import docker.errors
import pytest
import requests

from audit.models import AuditEntry
from tests.engine import LABEL_KEY, SESSION, TEST_LABELS, free_port, unique_name, wait_for

URL = "/engines/local/containers/new/advanced/"
SESSION_FILTER = {"label": [f"{LABEL_KEY}={SESSION}"]}


@pytest.fixture
def engine_cleanup(docker_api):
    """Names of containers and volumes a test expects the form to create; removed afterwards."""
    names = {"containers": [], "volumes": []}
    yield names
    for name in names["containers"]:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(name, force=True, v=True)
    for name in names["volumes"]:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_volume(name, force=True)


def valid_form(image: str) -> dict:
    """A form that would run: each bad-input case spoils one thing in it."""
    return {
        "image": image,
        "name": unique_name("run"),
        "command": "httpd -f -p 80",
        "env": "GREETING=hello world\nMODE=a=b",
        "ports": f"{free_port()}:80",
        "volumes": f"{unique_name('vol')}:/data",
        "restart_policy": "unless-stopped",
        "restart_max_retries": "",
        "labels": f"{LABEL_KEY}={SESSION}\ncom.example.role=web",
    }


def volume_name(data: dict) -> str:
    return data["volumes"].split(":", 1)[0]


def host_port(data: dict) -> int:
    return int(data["ports"].split(":", 1)[0])


def session_containers(docker_api) -> set[str]:
    return {c["Id"] for c in docker_api.containers(all=True, filters=SESSION_FILTER)}


def session_volumes(docker_api) -> set[str]:
    return {v["Name"] for v in docker_api.volumes(filters=SESSION_FILTER).get("Volumes") or ()}


def containers_named(docker_api, name: str) -> set[str]:
    return {c["Id"] for c in docker_api.containers(all=True, filters={"name": [f"^/{name}$"]})}


def volume_exists(docker_api, name: str) -> bool:
    try:
        docker_api.inspect_volume(name)
    except docker.errors.NotFound:
        return False
    return True


def rendered_errors(response, field: str) -> str:
    """The text of the error list the page shows under `field`."""
    match = re.search(
        rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no error list under {field} in the page"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


def test_run_form_lists_local_images_for_the_image_field(admin_client, test_image):
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    datalist = re.search(r'<datalist id="local-images">(.*?)</datalist>', page, re.S)
    assert datalist, "the image datalist is missing"
    assert f'<option value="{test_image}">' in datalist.group(1)
    assert 'list="local-images"' in page


def test_run_form_prefills_the_image_from_the_query(admin_client, test_image):
    response = admin_client.get(URL, {"image": test_image})
    assert response.context["form"]["image"].value() == test_image


def test_run_form_creates_and_starts_the_container_it_describes(
    admin_client, docker_api, test_image, engine_cleanup
):
    data = valid_form(test_image)
    engine_cleanup["containers"].append(data["name"])
    engine_cleanup["volumes"].append(volume_name(data))

    response = admin_client.post(URL, data)

    assert response.status_code == 302, response.context["form"].errors
    match = re.fullmatch(r"/engines/local/containers/([0-9a-f]{64})/", response["Location"])
    assert match, response["Location"]
    container_id = match.group(1)
    doc = docker_api.inspect_container(container_id)
    assert doc["Name"] == f"/{data['name']}"
    assert doc["Config"]["Image"] == test_image
    assert doc["Config"]["Cmd"] == ["httpd", "-f", "-p", "80"]
    assert {"GREETING=hello world", "MODE=a=b"} <= set(doc["Config"]["Env"])
    bindings = doc["HostConfig"]["PortBindings"]["80/tcp"]
    assert [b["HostPort"] for b in bindings] == [str(host_port(data))]
    (mount,) = doc["Mounts"]
    assert (mount["Type"], mount["Name"], mount["Destination"], mount["RW"]) == (
        "volume",
        volume_name(data),
        "/data",
        True,
    )
    assert doc["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert doc["HostConfig"]["AutoRemove"] is False
    labels = doc["Config"]["Labels"]
    assert labels[LABEL_KEY] == SESSION
    assert labels["com.example.role"] == "web"
    assert labels["dockerweb.created-by"] == "admin"
    assert doc["State"]["Running"] is True
    # The published port really reaches httpd inside the container.
    wait_for(
        lambda: _http_status(f"http://127.0.0.1:{host_port(data)}/"),
        timeout=10,
        message="httpd to answer on the published port",
    )
    entry = AuditEntry.objects.get(action="container.run", target_id=container_id)
    assert entry.outcome == AuditEntry.Outcome.OK
    assert entry.username == "admin"
    assert entry.target_name == data["name"]


def _http_status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=1).status_code
    except requests.RequestException:
        return None


def test_run_form_supports_anonymous_volumes_engine_chosen_ports_and_on_failure_retries(
    admin_client, docker_api, test_image, engine_cleanup
):
    data = {
        **valid_form(test_image),
        "command": "sleep 3600",
        "env": "",
        "ports": f"80\n{free_port()}:53/udp",
        "volumes": "/cache\n/scratch:rw",
        "restart_policy": "on-failure",
        "restart_max_retries": "3",
    }
    engine_cleanup["containers"].append(data["name"])

    response = admin_client.post(URL, data)

    assert response.status_code == 302, response.context["form"].errors
    doc = docker_api.inspect_container(data["name"])
    assert doc["State"]["Running"] is True
    mounts = {m["Destination"]: m for m in doc["Mounts"]}
    assert set(mounts) == {"/cache", "/scratch"}
    for mount in mounts.values():
        assert mount["Type"] == "volume"
        assert re.fullmatch(r"[0-9a-f]{64}", mount["Name"]), "not an anonymous volume"
    published = doc["NetworkSettings"]["Ports"]
    assert int(published["80/tcp"][0]["HostPort"]) > 0, "the engine picked no host port"
    assert published["53/udp"][0]["HostPort"] == data["ports"].split("\n")[1].split(":")[0]
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}


def test_a_name_that_only_matches_another_as_a_pattern_is_free(
    admin_client, docker_api, make_container, test_image, engine_cleanup
):
    data = {**valid_form(test_image), "command": "sleep 3600", "ports": "", "volumes": ""}
    # The engine's name filter is a regex: "run-….v1" must not count as "run-…xv1".
    make_container(name=f"{data['name']}xv1")
    data["name"] += ".v1"
    engine_cleanup["containers"].append(data["name"])

    response = admin_client.post(URL, data)

    assert response.status_code == 302, response.context["form"].errors
    assert docker_api.inspect_container(data["name"])["State"]["Running"] is True


# -- refusals --------------------------------------------------------------------------------


@dataclass
class Arrange:
    """What a bad-input case may set up before posting: containers, held sockets."""

    make_container: Callable
    stack: contextlib.ExitStack


@dataclass(frozen=True)
class Bad:
    field: str
    expected: str
    spoil: Callable[[dict, Arrange], None]
    # Refused by the engine when starting, after the container and its volume were created.
    at_start: bool = False


def _set(**changes):
    def spoil(data, _arrange):
        data.update(changes)

    return spoil


def _name_in_use(data, arrange):
    arrange.make_container(name=data["name"])


def _port_held_by_container(data, arrange):
    port = host_port(data)
    arrange.make_container(ports=[80], host_config={"port_bindings": {80: port}})


def _port_held_by_socket(data, arrange):
    holder = arrange.stack.enter_context(socket.socket())
    holder.bind(("0.0.0.0", host_port(data)))  # noqa: S104 - the port the engine will want
    holder.listen()


def _duplicate_host_port(data, _arrange):
    data["ports"] = f"{host_port(data)}:80\n{host_port(data)}:81"


BAD_INPUTS = [
    pytest.param(Bad("ports", "outside 1–65535", _set(ports="70000:80")), id="port-out-of-range"),
    pytest.param(Bad("ports", "“abc” is not a number", _set(ports="abc:80")), id="port-not-number"),
    pytest.param(
        Bad("ports", "“999.1.1.1” is not an IP address", _set(ports="999.1.1.1:8080:80")),
        id="bad-host-ip",
    ),
    pytest.param(
        Bad("ports", "protocol “xyz” must be tcp, udp or sctp", _set(ports="8080:80/xyz")),
        id="bad-protocol",
    ),
    pytest.param(
        Bad("ports", "is already used on line 1", _duplicate_host_port), id="duplicate-host-port"
    ),
    pytest.param(
        Bad("ports", "port is already allocated", _port_held_by_container, at_start=True),
        id="host-port-published-by-another-container",
    ),
    pytest.param(
        Bad("ports", "address already in use", _port_held_by_socket, at_start=True),
        id="host-port-held-by-a-socket",
    ),
    pytest.param(
        Bad("env", "needs the form KEY=VALUE", _set(env="GOOD=1\nNOEQUALS")),
        id="env-without-equals",
    ),
    pytest.param(
        Bad("env", "“1BAD” is not a valid variable name", _set(env="1BAD=x")), id="env-bad-key"
    ),
    pytest.param(
        Bad("name", "no spaces", _set(name="my container")),
        id="name-with-spaces",
    ),
    pytest.param(Bad("name", "is already used", _name_in_use), id="name-in-use"),
    pytest.param(
        Bad("image", "is not on this engine", _set(image="dockerweb-test/not-here:missing")),
        id="image-not-local",
    ),
    pytest.param(Bad("image", "must be lowercase", _set(image="UPPER/Case")), id="image-uppercase"),
    pytest.param(
        Bad("image", "Not a valid image reference", _set(image="foo::bar")),
        id="image-double-colon",
    ),
    pytest.param(
        Bad("volumes", "must be an absolute path", _set(volumes="somevolume:data")),
        id="volume-relative-path",
    ),
    pytest.param(
        Bad(
            "volumes", "Bind mounts are disabled: set DOCKERWEB_BIND_ROOTS", _set(volumes="/etc:/x")
        ),
        id="volume-host-path",
    ),
    pytest.param(
        Bad("volumes", "anonymous volume can't be read-only", _set(volumes="/cache:ro")),
        id="volume-anonymous-read-only",
    ),
    pytest.param(
        Bad(
            "restart_max_retries",
            "only applies to “On failure”",
            _set(restart_policy="always", restart_max_retries="3"),
        ),
        id="retries-without-on-failure",
    ),
    pytest.param(
        Bad("auto_remove", "can't also be restarted", _set(auto_remove="on")),
        id="auto-remove-with-restart-policy",
    ),
    pytest.param(
        Bad(
            "labels",
            "needs the form KEY=VALUE",
            _set(labels=f"{LABEL_KEY}={SESSION}\nnovalue"),
        ),
        id="label-without-equals",
    ),
    pytest.param(
        Bad("command", "can't be split into arguments", _set(command='sh -c "echo hi')),
        id="command-unbalanced-quote",
    ),
]


@pytest.mark.parametrize("bad", BAD_INPUTS)
def test_bad_input_is_refused_on_its_field_and_creates_nothing(
    bad, admin_client, docker_api, make_container, test_image, engine_cleanup
):
    data = valid_form(test_image)
    # Only reached if the app wrongly runs it anyway.
    engine_cleanup["containers"].append(data["name"])
    engine_cleanup["volumes"].append(volume_name(data))
    with contextlib.ExitStack() as stack:
        bad.spoil(data, Arrange(make_container, stack))
        containers_before = session_containers(docker_api)
        volumes_before = session_volumes(docker_api)
        named_before = containers_named(docker_api, data["name"])
        assert not volume_exists(docker_api, volume_name(data))
        posted_at = time.time()

        response = admin_client.post(URL, data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert bad.field in errors, errors
    assert any(bad.expected in message for message in errors[bad.field]), errors[bad.field]
    assert bad.expected in rendered_errors(response, bad.field)
    # Nothing created, or nothing left of what was half-created.
    assert containers_named(docker_api, data["name"]) == named_before
    assert not volume_exists(docker_api, volume_name(data))
    assert session_containers(docker_api) == containers_before
    assert session_volumes(docker_api) == volumes_before
    if bad.at_start:
        _assert_created_then_removed(docker_api, data, since=posted_at)
        entry = AuditEntry.objects.get(action="container.run", target_name=data["name"])
        assert entry.outcome == AuditEntry.Outcome.FAILED
        assert bad.expected in entry.detail
    else:
        assert not AuditEntry.objects.filter(target_name=data["name"]).exists()


def _assert_created_then_removed(docker_api, data: dict, *, since: float) -> None:
    """The engine's own events: the run got as far as creating, and was undone."""
    until = time.time()
    container_actions = [
        e["Action"]
        for e in docker_api.events(
            since=since, until=until, decode=True, filters={"container": data["name"]}
        )
    ]
    volume_actions = [
        e["Action"]
        for e in docker_api.events(
            since=since, until=until, decode=True, filters={"volume": volume_name(data)}
        )
    ]
    assert "create" in container_actions and "destroy" in container_actions, container_actions
    assert "create" in volume_actions and "destroy" in volume_actions, volume_actions


def test_engine_refusal_keeps_a_volume_that_existed_before(
    admin_client, docker_api, make_container, test_image, engine_cleanup
):
    data = valid_form(test_image)
    engine_cleanup["volumes"].append(volume_name(data))
    docker_api.create_volume(volume_name(data), labels=TEST_LABELS)
    _port_held_by_container(data, Arrange(make_container, contextlib.ExitStack()))

    response = admin_client.post(URL, data)

    assert response.status_code == 400
    assert "port is already allocated" in rendered_errors(response, "ports")
    assert not containers_named(docker_api, data["name"])
    assert volume_exists(docker_api, volume_name(data)), "a volume the user already had was removed"
