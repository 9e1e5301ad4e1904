"""The container Settings tab: edit, review the diff, confirm; the recreate keeps every other
setting, and a failed recreate leaves the original container as it was."""

import contextlib
import random
import re
import socket
import threading
import time

import docker
import pytest
from django.contrib.auth.models import Permission, User

from audit.models import AuditEntry
from tests import engine as eng

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]


def _create_subnet_network(docker_api, name: str) -> str:
    """A user network on a random 10.x.y.0/24 (retried while it overlaps one in use)."""
    for _ in range(20):
        subnet = f"10.{random.randint(1, 254)}.{random.randint(0, 254)}.0/24"  # noqa: S311
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
        try:
            docker_api.create_network(name, driver="bridge", ipam=ipam, labels=eng.TEST_LABELS)
        except docker.errors.APIError as exc:
            if "overlap" in str(exc).lower():
                continue
            raise
        return subnet
    raise AssertionError("no free 10.x.y.0/24 subnet found")


@pytest.fixture
def rich_container(docker_api, test_image, tmp_path):
    """A running container with two user networks (alias, static IP), a read-only named
    volume, a read-write bind mount, labels, a restart policy, a memory limit and a port."""
    name = eng.unique_name("dwt-settings")
    net_alias, net_static = f"{name}-a", f"{name}-b"
    volume = f"{name}-vol"
    docker_api.create_network(net_alias, driver="bridge", labels=eng.TEST_LABELS)
    subnet = _create_subnet_network(docker_api, net_static)
    static_ip = subnet.replace(".0/24", ".23")
    docker_api.create_volume(volume, labels=eng.TEST_LABELS)
    bind_dir = tmp_path / "bound"
    bind_dir.mkdir()
    host_port = eng.free_port()
    try:
        created = docker_api.create_container(
            test_image,
            command=COMMAND,
            name=name,
            environment={"GREETING": "hello", "SECRET_TOKEN": "s3cr3t-value"},
            labels={**eng.TEST_LABELS, "com.example.role": "web"},
            ports=[80],
            host_config=docker_api.create_host_config(
                binds={
                    volume: {"bind": "/data", "mode": "ro"},
                    str(bind_dir): {"bind": "/host", "mode": "rw"},
                },
                restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
                mem_limit="64m",
                port_bindings={80: ("127.0.0.1", host_port)},
                network_mode=net_alias,
            ),
            networking_config=docker_api.create_networking_config(
                {net_alias: docker_api.create_endpoint_config(aliases=["web-alias"])}
            ),
        )
        docker_api.connect_container_to_network(created["Id"], net_static, ipv4_address=static_ip)
        docker_api.start(created["Id"])
        yield {
            "id": created["Id"],
            "name": name,
            "net_alias": net_alias,
            "net_static": net_static,
            "static_ip": static_ip,
            "volume": volume,
        }
    finally:
        for item in docker_api.containers(all=True, filters={"name": [name]}):
            docker_api.remove_container(item["Id"], force=True)
        for network in (net_alias, net_static):
            try:
                docker_api.remove_network(network)
            except docker.errors.NotFound:
                pass
        docker_api.remove_volume(volume, force=True)


def _normalised(doc: dict) -> dict:
    """An inspect document without what legitimately differs between two containers."""
    doc = {
        key: value
        for key, value in doc.items()
        if key
        not in {
            "Id",
            "Created",
            "State",
            "Name",
            "ResolvConfPath",
            "HostnamePath",
            "HostsPath",
            "LogPath",
            "GraphDriver",
            "NetworkSettings",
            "RestartCount",
        }
    }
    doc["Config"] = {k: v for k, v in doc["Config"].items() if k not in {"Hostname", "Env"}}
    doc["Mounts"] = sorted(doc["Mounts"], key=lambda m: m["Destination"])
    return doc


def _networks(doc: dict) -> dict:
    short_id = doc["Id"][:12]
    found = {}
    for name, endpoint in doc["NetworkSettings"]["Networks"].items():
        found[name] = {
            "NetworkID": endpoint["NetworkID"],
            "Aliases": sorted(a for a in endpoint["Aliases"] or () if a != short_id),
            "IPAMConfig": endpoint["IPAMConfig"],
            "Links": endpoint["Links"],
        }
    return found


def _form_data(response, **changes) -> dict:
    data = {
        key: "" if value is None else value
        for key, value in response.context["form"].initial.items()
    }
    data.update(changes)
    return data


def test_changing_only_env_keeps_every_other_setting(admin_client, docker_api, rich_container):
    cid = rich_container["id"]
    before = docker_api.inspect_container(cid)

    form_page = admin_client.get(f"/engines/local/containers/{cid}/settings/")
    assert form_page.status_code == 200
    data = _form_data(form_page)
    assert "GREETING=hello" in data["env"]
    data["env"] = data["env"].replace("GREETING=hello", "GREETING=goodbye") + "\nADDED=1"

    review = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "review"}
    )
    assert review.status_code == 200
    text = review.content.decode()
    assert "Environment GREETING" in text and "Environment ADDED" in text
    assert "Label" not in text and "Memory limit" not in text  # only what changed is listed
    assert docker_api.inspect_container(cid)["Id"] == cid  # nothing happened yet

    done = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )
    assert done.status_code == 302
    new_id = re.fullmatch(r"/engines/local/containers/([0-9a-f]{64})/", done["Location"]).group(1)
    assert new_id != cid
    after = docker_api.inspect_container(new_id)

    assert after["Name"] == before["Name"]
    assert after["State"]["Running"]
    assert _normalised(after) == _normalised(before)
    assert _networks(after) == _networks(before)
    networks = after["NetworkSettings"]["Networks"]
    assert "web-alias" in networks[rich_container["net_alias"]]["Aliases"]
    assert networks[rich_container["net_static"]]["IPAddress"] == rich_container["static_ip"]
    assert after["NetworkSettings"]["Ports"] == before["NetworkSettings"]["Ports"]
    modes = {m["Destination"]: m["RW"] for m in after["Mounts"]}
    assert modes == {"/data": False, "/host": True}
    assert after["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert after["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert after["Config"]["Cmd"] == COMMAND
    assert after["Config"]["Hostname"] == new_id[:12]  # its own, not the old short id

    env_before = set(before["Config"]["Env"])
    env_after = set(after["Config"]["Env"])
    assert env_after - env_before == {"GREETING=goodbye", "ADDED=1"}
    assert env_before - env_after == {"GREETING=hello"}

    # The old container is gone (not left aside), its volume kept.
    names = [
        c["Names"][0] for c in docker_api.containers(all=True, filters={"name": ["dockerweb-old"]})
    ]
    assert not [n for n in names if rich_container["name"] in n]
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_container(cid)
    assert docker_api.inspect_volume(rich_container["volume"])

    entry = AuditEntry.objects.get(action="container.recreate")
    assert entry.outcome == AuditEntry.Outcome.OK and entry.target_id == new_id
    assert "changed env" in entry.detail and "goodbye" not in entry.detail


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"memory": "1m"}, "Minimum memory limit"),
        ({"name": "TAKEN"}, "already in use"),
    ],
    ids=["memory-below-engine-minimum", "name-taken"],
)
def test_failed_recreate_leaves_the_original_running_under_its_name(
    admin_client, docker_api, rich_container, make_container, change, error
):
    cid = rich_container["id"]
    if change.get("name") == "TAKEN":
        change = {"name": make_container(start=False)["Name"].lstrip("/")}
    before = docker_api.inspect_container(cid)
    data = _form_data(admin_client.get(f"/engines/local/containers/{cid}/settings/"), **change)

    response = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )

    assert response.status_code == 400
    text = response.content.decode()
    assert error in text and "left as it was" in text
    after = docker_api.inspect_container(rich_container["name"])
    assert after["Id"] == cid
    assert after["State"]["Running"]
    assert after["State"]["StartedAt"] != before["State"]["StartedAt"]  # it was restarted
    assert _networks(after) == _networks(before)
    leftovers = docker_api.containers(all=True, filters={"name": [rich_container["name"]]})
    assert [c["Id"] for c in leftovers] == [cid]
    entry = AuditEntry.objects.get(action="container.recreate")
    assert entry.outcome == AuditEntry.Outcome.FAILED


def test_review_states_what_is_lost_and_changes_nothing(admin_client, docker_api, make_container):
    container = make_container(COMMAND, environment={"API_KEY": "very-secret"})
    cid = container["Id"]
    data = _form_data(admin_client.get(f"/engines/local/containers/{cid}/settings/"))
    data["env"] = data["env"].replace("API_KEY=very-secret", "API_KEY=other-secret")

    review = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "review"}
    )

    text = review.content.decode()
    assert "writable layer" in text and "processes start again" in text
    assert 'value="confirm"' in text
    # Values are masked until revealed.
    assert re.search(r'secret-mask[^>]*>[^<]*</span><span class="secret-value">very-secret', text)
    after = docker_api.inspect_container(cid)
    assert after["State"]["StartedAt"] == container["State"]["StartedAt"]
    assert "API_KEY=very-secret" in after["Config"]["Env"]
    assert not AuditEntry.objects.filter(action="container.recreate").exists()


def test_nothing_changed_is_refused(admin_client, make_container):
    cid = make_container(COMMAND)["Id"]
    data = _form_data(admin_client.get(f"/engines/local/containers/{cid}/settings/"))
    response = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "review"}
    )
    assert response.status_code == 400
    assert "Nothing changed" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "permissions",
    [
        ("view_container",),
        ("view_container", "create_container"),
        ("view_container", "remove_container"),
    ],
)
def test_settings_need_create_and_remove_permissions(client, make_container, permissions):
    cid = make_container(COMMAND)["Id"]
    user = User.objects.create_user("settings-user", password="pw-settings-1")
    for codename in permissions:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="containers", codename=codename)
        )
    client.force_login(user)
    assert client.get(f"/engines/local/containers/{cid}/settings/").status_code == 403
    assert (
        client.post(f"/engines/local/containers/{cid}/settings/", {"step": "confirm"}).status_code
        == 403
    )
    assert (
        "/settings/"
        not in client.get(f"/engines/local/containers/{cid}/overview/").content.decode()
    )


class PortThief(threading.Thread):
    """Takes host port `port` the moment the old container dies (the recreate has stopped
    it), so the new container can't start; gives it back as soon as the rollback removes the
    new container, so the original can take it again."""

    def __init__(self, docker_api, old_id: str, name: str, port: int):
        super().__init__(daemon=True)
        self.old_id, self.name, self.port = old_id, name, port
        self.stream = docker_api.events(decode=True, filters={"type": "container"})
        self.held = threading.Event()
        self.released = threading.Event()
        self.error: BaseException | None = None
        self.socket: socket.socket | None = None

    def run(self):
        try:
            for event in self.stream:
                action = event.get("Action") or event.get("status")
                actor = event.get("Actor") or {}
                if action == "die" and actor.get("ID") == self.old_id and not self.held.is_set():
                    self._take()
                elif (
                    action == "destroy"
                    and actor.get("ID") != self.old_id
                    and (actor.get("Attributes") or {}).get("name") == self.name
                    and self.held.is_set()
                ):
                    self.release()
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            if not self.released.is_set():
                self.error = exc

    def _take(self):
        # docker-proxy may still be letting go of the port: retry for a moment.
        deadline = time.monotonic() + 5
        while True:
            candidate = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                candidate.bind(("0.0.0.0", self.port))  # noqa: S104 - must clash with any bind
                candidate.listen()
            except OSError:
                candidate.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
                continue
            self.socket = candidate
            self.held.set()
            return

    def release(self):
        if self.socket is not None:
            self.socket.close()
        self.released.set()

    def stop(self):
        self.release()
        with contextlib.suppress(Exception):
            self.stream.close()
        self.join(timeout=5)


def test_recreate_whose_new_container_cannot_start_restores_the_running_original(
    admin_client, docker_api, make_container
):
    port = eng.free_port()
    original = make_container(
        COMMAND,
        ports=[80],
        host_config={"port_bindings": {80: ("127.0.0.1", port)}},
        environment={"GREETING": "hello"},
    )
    cid, name = original["Id"], original["Name"].lstrip("/")
    data = _form_data(admin_client.get(f"/engines/local/containers/{cid}/settings/"))
    data["env"] = data["env"].replace("GREETING=hello", "GREETING=bye")
    thief = PortThief(docker_api, cid, name, port)
    thief.start()
    try:
        response = admin_client.post(
            f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
        )

        assert thief.error is None, thief.error
        assert thief.held.is_set(), "the port was never taken while the original was stopped"
        assert response.status_code == 400
        text = response.content.decode()
        assert re.search(r"address already in use|port is already allocated", text), text
        assert "left as it was" in text
        after = docker_api.inspect_container(name)
        assert after["Id"] == cid
        leftovers = docker_api.containers(all=True, filters={"name": [name]})
        assert [c["Id"] for c in leftovers] == [cid]
        assert "GREETING=hello" in after["Config"]["Env"]
        assert after["State"]["Running"], "the original wasn't started again"
        assert after["State"]["StartedAt"] != original["State"]["StartedAt"]
        assert after["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"] == str(port)
        entry = AuditEntry.objects.get(action="container.recreate")
        assert entry.outcome == AuditEntry.Outcome.FAILED
    finally:
        thief.stop()


def test_changing_only_the_published_port_keeps_every_other_setting(
    admin_client, docker_api, rich_container
):
    cid = rich_container["id"]
    before = docker_api.inspect_container(cid)
    old_port = before["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"]
    new_port = eng.free_port()
    form_page = admin_client.get(f"/engines/local/containers/{cid}/settings/")
    data = _form_data(form_page)
    assert data["ports"] == f"127.0.0.1:{old_port}:80/tcp"
    assert "/host" in data["volumes"] and f"{rich_container['volume']}:/data:ro" in data["volumes"]
    page = form_page.content.decode()
    assert (
        f'href="/engines/local/networks/{before["NetworkSettings"]["Networks"][rich_container["net_alias"]]["NetworkID"]}/"'
        in page
    )
    assert "web-alias" in page and rich_container["static_ip"] in page
    data["ports"] = f"127.0.0.1:{new_port}:80/tcp"

    review = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "review"}
    )
    text = review.content.decode()
    assert review.status_code == 200
    assert f"127.0.0.1:{new_port}:80/tcp" in text and f"127.0.0.1:{old_port}:80/tcp" in text
    assert (
        "Environment" not in text and "Volume" not in text.split("Changes")[1].split("</table>")[0]
    )

    done = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )
    assert done.status_code == 302, done.content.decode()
    new_id = re.fullmatch(r"/engines/local/containers/([0-9a-f]{64})/", done["Location"]).group(1)
    after = docker_api.inspect_container(new_id)

    assert after["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(new_port)}]
    }
    assert after["NetworkSettings"]["Ports"]["80/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": str(new_port)}
    ]
    normal_before, normal_after = _normalised(before), _normalised(after)
    del normal_before["HostConfig"]["PortBindings"], normal_after["HostConfig"]["PortBindings"]
    assert normal_after == normal_before
    assert after["Config"]["Env"] == before["Config"]["Env"]
    assert _networks(after) == _networks(before)
    assert after["State"]["Running"]


def test_checking_tty_recreates_with_a_tty_and_open_stdin(admin_client, docker_api, make_container):
    cid = make_container(COMMAND)["Id"]
    data = _form_data(admin_client.get(f"/engines/local/containers/{cid}/settings/"))
    assert data["tty"] is False
    data["tty"] = "on"

    review = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "review"}
    )
    assert "TTY and open stdin" in review.content.decode()
    # The review's hidden fields carry the checkbox through to the confirm step.
    hidden = re.search(r'<input type="hidden" name="tty" value="([^"]*)"', review.content.decode())
    done = admin_client.post(
        f"/engines/local/containers/{cid}/settings/",
        {**data, "tty": hidden.group(1), "step": "confirm"},
    )
    assert done.status_code == 302, done.content.decode()
    new_id = re.fullmatch(r"/engines/local/containers/([0-9a-f]{64})/", done["Location"]).group(1)
    config = docker_api.inspect_container(new_id)["Config"]
    assert config["Tty"] is True and config["OpenStdin"] is True


@pytest.mark.django_db
def test_non_admin_cannot_add_a_bind_mount_through_settings(
    client, docker_api, make_container, tmp_path
):
    container = make_container(COMMAND)
    cid = container["Id"]
    user = User.objects.create_user("settings-binder", password="pw-settings-2")
    for codename in ("view_container", "create_container", "remove_container"):
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="containers", codename=codename)
        )
    client.force_login(user)
    data = _form_data(client.get(f"/engines/local/containers/{cid}/settings/"))
    data["volumes"] = f"{data['volumes']}\n{tmp_path}:/stolen".strip()

    for step in ("review", "confirm"):
        response = client.post(f"/engines/local/containers/{cid}/settings/", {**data, "step": step})
        assert response.status_code == 400
        assert "is a host path" in response.content.decode()

    after = docker_api.inspect_container(cid)
    assert after["Id"] == cid
    assert after["State"]["StartedAt"] == container["State"]["StartedAt"]
    assert not [m for m in after["Mounts"] if m["Destination"] == "/stolen"]
    assert not AuditEntry.objects.filter(action="container.recreate").exists()
