"""Networks: create, connect with alias and static IP, disconnect, remove, against the real engine."""

import html
import ipaddress
import re
import secrets
import threading
from urllib.parse import quote

import docker.errors
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.models import AuditEntry
from dockerweb import engines, gateway
from networks.views import ATTACHED_SHOWN
from tests.engine import LABEL_KEY, SESSION, unique_name, wait_for
from tests.engine_spy import spying_on_the_engine
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
            "/engines/local/networks/new/",
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


def connect(client, network_id, container, **fields):
    """Post the Connect form; `container` is what a user types: a name or an id."""
    return client.post(
        f"/engines/local/networks/{network_id}/connect/", {"container": container, **fields}
    )


def on_network(make_container, network_name, count=1):
    """`count` labelled containers created on the network and never started; their names."""
    return [
        make_container(start=False, host_config={"network_mode": network_name})
        for _ in range(count)
    ]


def network_row(page: str, name: str) -> str:
    row = re.search(rf'<tr data-network-row[^>]*data-network-name="{name}".*?</tr>', page, re.S)
    assert row, f"{name} is listed"
    return row.group(0)


def field_errors(response, field: str) -> str:
    found = re.search(rf'data-field-errors="{field}">(.*?)</ul>', response.content.decode(), re.S)
    return html.unescape(found.group(1)) if found else ""


def engine_calls(spy, mark) -> list[str]:
    """The engine requests this thread (the test client's requests) sent since `mark`."""
    return [f"{r.method} {r.path}" for r in spy.since(mark, thread=threading.current_thread().name)]


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
    page = admin_client.get("/engines/local/networks/")
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

    detail = admin_client.get(f"/engines/local/networks/{network_id}/").content.decode()
    assert f'data-attached-name="{server["Name"].lstrip("/")}"' in detail
    assert alias in detail

    # Disconnecting asks first, saying what the container loses; asking changes nothing.
    confirm = admin_client.get(
        f"/engines/local/networks/{network_id}/disconnect/", {"container": server["Id"]}
    )
    assert "keeps running" in text(confirm) and alias in text(confirm)
    assert name in docker_api.inspect_container(server["Id"])["NetworkSettings"]["Networks"]

    response = admin_client.post(
        f"/engines/local/networks/{network_id}/disconnect/", {"container": server["Id"]}
    )
    assert response.status_code == 302
    assert name not in docker_api.inspect_container(server["Id"])["NetworkSettings"]["Networks"]
    assert AuditEntry.objects.filter(action="network.disconnect").exists()

    docker_api.remove_container(client_container["Id"], force=True)
    page = admin_client.get(f"/engines/local/networks/{network_id}/remove/")
    assert "What will be lost" in text(page)
    response = admin_client.post(f"/engines/local/networks/{network_id}/remove/")
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
    (user,) = on_network(make_container, name)
    user_name = user["Name"].lstrip("/")

    page = admin_client.get(f"/engines/local/networks/{name}/remove/")
    assert f"in use by {user_name}" in text(page)

    response = admin_client.post(f"/engines/local/networks/{name}/remove/")
    assert response.status_code == 409
    assert user_name in text(response)
    assert docker_api.inspect_network(name)["Name"] == name
    entry = AuditEntry.objects.get(action="network.remove")
    assert entry.outcome == "failed" and user_name in entry.detail


def test_gateway_refuses_removing_a_network_a_stopped_container_is_on(
    admin_client, docker_api, networks, make_container
):
    """The engine itself would remove it (no running endpoint) and strand the container:
    the gateway asks the engine who is on it first, whatever the live model says."""
    name, _ = create_through_form(admin_client, docker_api, networks)
    (user,) = on_network(make_container, name)

    with pytest.raises(gateway.Conflict, match=re.escape(user["Name"].lstrip("/"))):
        gateway.networks.remove_network(name)

    assert docker_api.inspect_network(name)["Name"] == name


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
        "/engines/local/networks/new/",
        {"name": name, "subnet": subnet, "gateway": gateway, "labels": LABEL_LINE},
    )

    assert response.status_code == 400
    errors = re.search(rf'data-field-errors="{field}">(.*?)</ul>', response.content.decode(), re.S)
    assert errors and problem in html.unescape(errors.group(1))
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_network(name)


@pytest.mark.parametrize("predefined", ["bridge", "host", "none"])
def test_predefined_network_removal_is_refused(admin_client, docker_api, predefined):
    page = admin_client.get(f"/engines/local/networks/{predefined}/remove/")
    assert "predefined networks" in text(page)
    assert "can't be removed" in text(page)

    response = admin_client.post(f"/engines/local/networks/{predefined}/remove/")

    assert response.status_code == 409
    assert docker_api.inspect_network(predefined)["Name"] == predefined


def test_list_counts_attached_containers_from_the_model_without_an_engine_listing(
    admin_client, docker_api, networks, make_container, monkeypatch
):
    name, _ = create_through_form(admin_client, docker_api, networks)
    users = on_network(make_container, name, count=3)
    engines.current().live()  # the model's own listing is done by its thread, not the page's
    page_thread, listed = threading.current_thread(), []
    for module, function in (
        (gateway.containers, "list_containers"),
        (gateway.networks, "list_network_records"),
    ):
        original = getattr(module, function)

        def spy(*args, _original=original, _name=function, **kwargs):
            if threading.current_thread() is page_thread:
                listed.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, function, spy)

    with spying_on_the_engine() as engine_spy:
        mark = engine_spy.mark()
        page = admin_client.get("/engines/local/networks/")
        partial = admin_client.get("/engines/local/networks/", HTTP_HX_REQUEST="true")
        calls = engine_calls(engine_spy, mark)

    assert page.status_code == 200
    row = network_row(page.content.decode(), name)
    assert 'data-containers="3"' in row
    link = re.search(r'<a href="([^"]+)">3 containers</a>', row)
    assert (
        link and html.unescape(link.group(1)) == f"/engines/local/containers/?network={quote(name)}"
    )
    assert not any(u["Name"].lstrip("/") in row for u in users), "no names: a count"
    # The live update fetches the rows alone; caches must tell it from the page.
    assert partial.content.decode().lstrip().startswith('<tbody id="network-rows">')
    assert 'data-containers="3"' in network_row(partial.content.decode(), name)
    assert "HX-Request" in partial["Vary"] and "HX-Request" in page["Vary"]
    assert listed == [], listed
    assert calls == [], calls


def test_detail_shows_the_first_attached_by_name_and_links_to_all(
    admin_client, docker_api, networks, make_container
):
    name, _ = create_through_form(admin_client, docker_api, networks)
    total = ATTACHED_SHOWN + 5
    made = on_network(make_container, name, count=total)
    by_name = sorted(c["Name"].lstrip("/") for c in made)
    engines.current().live()

    with spying_on_the_engine() as engine_spy:
        mark = engine_spy.mark()
        page = admin_client.get(f"/engines/local/networks/{name}/").content.decode()
        calls = engine_calls(engine_spy, mark)

    assert re.findall(r'data-attached-name="([^"]+)"', page) == by_name[:ATTACHED_SHOWN]
    assert len(re.findall(r">Disconnect</a>", page)) == ATTACHED_SHOWN
    assert f'data-attached-total="{total}"' in page
    more = re.search(r'data-attached-more="(\d+)">.*?<a href="([^"]+)">([^<]+)</a>', page, re.S)
    assert more and more.group(1) == "5"
    assert f"show all {total} containers" in more.group(3)
    url = html.unescape(more.group(2))
    assert url == f"/engines/local/containers/?network={quote(name)}"
    # The page asks the engine for the network and each shown container's aliases, no more.
    shown_ids = {c["Id"] for c in made if c["Name"].lstrip("/") in by_name[:ATTACHED_SHOWN]}
    assert sorted(calls) == sorted(
        [f"GET /networks/{name}", *(f"GET /containers/{i}/json" for i in shown_ids)]
    ), calls

    listed = admin_client.get(url).content.decode()
    rows = re.search(r'<tbody id="container-rows">(.*?)</tbody>', listed, re.S).group(1)
    assert set(re.findall(r'data-container-id="([0-9a-f]{64})"', rows)) == {c["Id"] for c in made}


def test_connect_form_takes_a_container_name_and_says_when_there_is_none(
    admin_client, docker_api, networks, make_container
):
    name, _ = create_through_form(admin_client, docker_api, networks)
    container = make_container(start=False)
    container_name = container["Name"].lstrip("/")

    page = admin_client.get(f"/engines/local/networks/{name}/").content.decode()
    assert '<label for="id_container">Container</label>' in page
    assert re.search(r'<input type="text" name="container"[^>]*id="id_container"', page)
    assert '<select name="container"' not in page

    missing = unique_name("no-such")
    with spying_on_the_engine() as engine_spy:
        mark = engine_spy.mark()
        response = connect(admin_client, name, missing)
        calls = engine_calls(engine_spy, mark)
    assert response.status_code == 400
    assert f"There is no container “{missing}” on this engine." in field_errors(
        response, "container"
    )
    assert not [c for c in calls if not c.startswith("GET ")], calls
    # A short id prefix could mean anything: it must be the short id at least.
    response = connect(admin_client, name, container["Id"][:4])
    assert response.status_code == 400 and "There is no container" in field_errors(
        response, "container"
    )

    response = connect(admin_client, name, container_name)
    assert response.status_code == 302, text(response)
    assert name in docker_api.inspect_container(container["Id"])["NetworkSettings"]["Networks"]
    entry = AuditEntry.objects.get(action="network.connect")
    assert entry.outcome == "ok" and f"connected {container_name}" in entry.detail
    # A stopped container's connect has no engine event: the action updated the model.
    detail = admin_client.get(f"/engines/local/networks/{name}/").content.decode()
    assert re.findall(r'data-attached-name="([^"]+)"', detail) == [container_name]

    again = connect(admin_client, name, container["Id"][:12])
    assert again.status_code == 400
    assert f"{container_name} is already connected to {name}." in field_errors(again, "container")


def test_viewer_can_list_but_not_create_remove_connect(
    db, admin_client, docker_api, networks, make_container
):
    name, _ = create_through_form(admin_client, docker_api, networks)
    container = make_container()
    viewer = User.objects.create_user("viewer", password="x")  # noqa: S106
    viewer.user_permissions.add(Permission.objects.get(codename="view_network"))
    client = Client()
    client.force_login(viewer)

    assert client.get("/engines/local/networks/").status_code == 200
    assert client.get(f"/engines/local/networks/{name}/").status_code == 200
    assert client.get("/engines/local/networks/new/").status_code == 403
    assert (
        client.post("/engines/local/networks/new/", {"name": unique_name("dwt-net")}).status_code
        == 403
    )
    assert client.get(f"/engines/local/networks/{name}/remove/").status_code == 403
    assert client.post(f"/engines/local/networks/{name}/remove/").status_code == 403
    assert connect(client, name, container["Id"]).status_code == 403
    assert (
        client.post(
            f"/engines/local/networks/{name}/disconnect/", {"container": container["Id"]}
        ).status_code
        == 403
    )
    assert docker_api.inspect_network(name)["Name"] == name
    assert name not in docker_api.inspect_container(container["Id"])["NetworkSettings"]["Networks"]
