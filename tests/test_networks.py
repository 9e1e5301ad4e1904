"""Networks: create, connect with alias and static IP, disconnect, remove, against the real engine."""

import html
import ipaddress
import re
import secrets

import docker.errors
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.models import AuditEntry
from tests.engine import LABEL_KEY, SESSION, unique_name, wait_for
from tests.pages import text

LABEL_LINE = f"{LABEL_KEY}={SESSION}"


@pytest.fixture
def networks(docker_api):
    """Names of networks the test made (through the portal); removed at the end."""
    made: list[str] = []
    yield made
    for name in made:
        try:
            for container in docker_api.inspect_network(name).get("Containers") or {}:
                docker_api.disconnect_container_from_network(container, name, force=True)
            docker_api.remove_network(name)
        except docker.errors.NotFound:
            pass


def create_through_form(client, docker_api, networks, **extra) -> tuple[str, ipaddress.IPv4Network]:
    """A labelled bridge network with a free random 10.x.y.0/24, created via the form."""
    for _ in range(20):
        subnet = ipaddress.ip_network(
            f"10.{1 + secrets.randbelow(254)}.{secrets.randbelow(255)}.0/24"
        )
        name = unique_name("dwt-net")
        response = client.post(
            "/networks/new/",
            {
                "name": name,
                "subnet": str(subnet),
                "gateway": str(subnet.network_address + 1),
                "labels": LABEL_LINE,
                **extra,
            },
        )
        if response.status_code == 400 and "overlaps" in text(response):
            continue
        assert response.status_code == 302, text(response)
        networks.append(name)
        return name, subnet
    pytest.fail("no free 10.x.y.0/24 found")


def connect(client, network_id, container_id, **fields):
    return client.post(f"/networks/{network_id}/connect/", {"container": container_id, **fields})


def test_create_form_makes_bridge_network_with_subnet_gateway_and_labels(
    admin_client, docker_api, networks
):
    name, subnet = create_through_form(admin_client, docker_api, networks, internal="on")

    info = docker_api.inspect_network(name)
    assert info["Driver"] == "bridge"
    assert info["Internal"] is True
    assert info["Labels"][LABEL_KEY] == SESSION
    assert info["IPAM"]["Config"] == [
        {"Subnet": str(subnet), "Gateway": str(subnet.network_address + 1)}
    ]
    page = admin_client.get("/networks/")
    row = re.search(
        rf'<tr data-network-row[^>]*data-network-name="{name}".*?</tr>', page.content.decode(), re.S
    )
    assert row, "the new network is listed"
    assert str(subnet) in row.group(0)
    assert 'data-internal="1"' in row.group(0)
    assert AuditEntry.objects.filter(action="network.create", target_id=info["Id"]).exists()


def test_connect_with_alias_resolves_from_other_container_then_disconnect_and_remove(
    admin_client, docker_api, networks, make_container
):
    name, subnet = create_through_form(admin_client, docker_api, networks)
    network_id = docker_api.inspect_network(name)["Id"]
    server = make_container()
    client_container = make_container(
        networking_config=docker_api.create_networking_config(
            {name: docker_api.create_endpoint_config()}
        )
    )
    alias = unique_name("svc")

    response = connect(admin_client, network_id, server["Id"], aliases=f"{alias}, other-{alias}")
    assert response.status_code == 302, text(response)

    settings = docker_api.inspect_container(server["Id"])["NetworkSettings"]["Networks"][name]
    assert alias in settings["Aliases"]
    address = settings["IPAddress"]
    assert ipaddress.ip_address(address) in subnet

    def resolves():
        run = docker_api.exec_create(client_container["Id"], ["nslookup", alias])
        output = docker_api.exec_start(run["Id"]).decode()
        return docker_api.exec_inspect(run["Id"])["ExitCode"] == 0 and address in output

    wait_for(resolves, timeout=15, message=f"{alias} resolves to {address}")

    detail = admin_client.get(f"/networks/{network_id}/").content.decode()
    assert f'data-attached-name="{server["Name"].lstrip("/")}"' in detail
    assert alias in detail

    # Disconnecting asks first, saying what the container loses; asking changes nothing.
    confirm = admin_client.get(f"/networks/{network_id}/disconnect/", {"container": server["Id"]})
    assert "keeps running" in text(confirm) and alias in text(confirm)
    assert name in docker_api.inspect_container(server["Id"])["NetworkSettings"]["Networks"]

    response = admin_client.post(f"/networks/{network_id}/disconnect/", {"container": server["Id"]})
    assert response.status_code == 302
    assert name not in docker_api.inspect_container(server["Id"])["NetworkSettings"]["Networks"]
    assert AuditEntry.objects.filter(action="network.disconnect").exists()

    docker_api.remove_container(client_container["Id"], force=True)
    page = admin_client.get(f"/networks/{network_id}/remove/")
    assert "What will be lost" in text(page)
    response = admin_client.post(f"/networks/{network_id}/remove/")
    assert response.status_code == 302
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_network(network_id)
    assert AuditEntry.objects.filter(action="network.remove", outcome="ok").exists()


def test_connect_with_static_ip_shows_in_inspect(
    admin_client, docker_api, networks, make_container
):
    name, subnet = create_through_form(admin_client, docker_api, networks)
    container = make_container()
    address = str(subnet.network_address + 77)

    response = connect(admin_client, name, container["Id"], ipv4_address=address)
    assert response.status_code == 302, text(response)

    settings = docker_api.inspect_container(container["Id"])["NetworkSettings"]["Networks"][name]
    assert settings["IPAddress"] == address
    assert settings["IPAMConfig"]["IPv4Address"] == address


def test_static_ip_outside_subnet_is_a_form_error(
    admin_client, docker_api, networks, make_container
):
    name, subnet = create_through_form(admin_client, docker_api, networks)
    container = make_container()

    response = connect(admin_client, name, container["Id"], ipv4_address="192.0.2.10")

    assert response.status_code == 400
    assert f"not inside the network's subnet ({subnet})" in text(response)
    assert name not in docker_api.inspect_container(container["Id"])["NetworkSettings"]["Networks"]


def test_removal_while_in_use_is_refused_naming_the_container(
    admin_client, docker_api, networks, make_container
):
    name, _ = create_through_form(admin_client, docker_api, networks)
    user = make_container(start=False)
    user_name = user["Name"].lstrip("/")
    docker_api.connect_container_to_network(user["Id"], name)

    page = admin_client.get(f"/networks/{name}/remove/")
    assert f"in use by {user_name}" in text(page)

    response = admin_client.post(f"/networks/{name}/remove/")
    assert response.status_code == 409
    assert user_name in text(response)
    assert docker_api.inspect_network(name)["Name"] == name
    entry = AuditEntry.objects.get(action="network.remove")
    assert entry.outcome == "failed" and user_name in entry.detail


@pytest.mark.parametrize(
    ("subnet", "gateway", "field", "problem"),
    [
        ("10.1.2.0/33", "", "subnet", "is not a subnet in CIDR form"),
        ("10.1.2.5/24", "", "subnet", "is not a subnet in CIDR form"),
        ("10.1.2.0/24", "10.1.3.1", "gateway", "is not inside 10.1.2.0/24"),
        ("10.1.2.0/24", "not-an-ip", "gateway", "is not an IP address"),
        ("", "10.1.2.1", "gateway", "needs a subnet"),
    ],
)
def test_bad_subnet_or_gateway_is_a_form_error(
    admin_client, docker_api, subnet, gateway, field, problem
):
    name = unique_name("dwt-net")
    response = admin_client.post(
        "/networks/new/", {"name": name, "subnet": subnet, "gateway": gateway, "labels": LABEL_LINE}
    )

    assert response.status_code == 400
    errors = re.search(rf'data-field-errors="{field}">(.*?)</ul>', response.content.decode(), re.S)
    assert errors and problem in html.unescape(errors.group(1))
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_network(name)


@pytest.mark.parametrize("predefined", ["bridge", "host", "none"])
def test_predefined_network_removal_is_refused(admin_client, docker_api, predefined):
    page = admin_client.get(f"/networks/{predefined}/remove/")
    assert "predefined networks" in text(page)
    assert "can't be removed" in text(page)

    response = admin_client.post(f"/networks/{predefined}/remove/")

    assert response.status_code == 409
    assert docker_api.inspect_network(predefined)["Name"] == predefined


def test_list_shows_attached_containers(admin_client, docker_api, networks, make_container):
    name, _ = create_through_form(admin_client, docker_api, networks)
    container = make_container()
    docker_api.connect_container_to_network(container["Id"], name)

    row = re.search(
        rf'<tr data-network-row[^>]*data-network-name="{name}".*?</tr>',
        admin_client.get("/networks/").content.decode(),
        re.S,
    )
    assert row and container["Name"].lstrip("/") in row.group(0)


def test_viewer_can_list_but_not_create_remove_connect(
    db, admin_client, docker_api, networks, make_container
):
    name, _ = create_through_form(admin_client, docker_api, networks)
    container = make_container()
    viewer = User.objects.create_user("viewer", password="x")  # noqa: S106
    viewer.user_permissions.add(Permission.objects.get(codename="view_network"))
    client = Client()
    client.force_login(viewer)

    assert client.get("/networks/").status_code == 200
    assert client.get(f"/networks/{name}/").status_code == 200
    assert client.get("/networks/new/").status_code == 403
    assert client.post("/networks/new/", {"name": unique_name("dwt-net")}).status_code == 403
    assert client.get(f"/networks/{name}/remove/").status_code == 403
    assert client.post(f"/networks/{name}/remove/").status_code == 403
    assert connect(client, name, container["Id"]).status_code == 403
    assert (
        client.post(f"/networks/{name}/disconnect/", {"container": container["Id"]}).status_code
        == 403
    )
    assert docker_api.inspect_network(name)["Name"] == name
    assert name not in docker_api.inspect_container(container["Id"])["NetworkSettings"]["Networks"]
