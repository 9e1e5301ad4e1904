"""The gateway against the real engine: listings, inspect, lifecycle, error mapping."""

import pytest

from dockerweb import gateway
from dockerweb.gateway import portal_helpers
from dockerweb.gateway.types import HELPER_LABEL
from tests.engine import TEST_LABELS


def test_listing_includes_a_stopped_container_with_its_labels(make_container):
    created = make_container(start=False)
    listed = {c.id: c for c in gateway.containers.list_containers()}
    summary = listed[created["Id"]]
    assert summary.name == created["Name"].lstrip("/")
    assert summary.state == "created"
    assert summary.labels[next(iter(TEST_LABELS))] == next(iter(TEST_LABELS.values()))


def test_running_only_listing_leaves_out_stopped_containers(make_container):
    running = make_container()
    stopped = make_container(start=False)
    ids = {c.id for c in gateway.containers.list_containers(running_only=True)}
    assert running["Id"] in ids
    assert stopped["Id"] not in ids


def test_lifecycle_calls_change_the_engine_state(make_container, docker_api):
    container = make_container()
    cid = container["Id"]
    gateway.containers.pause(cid)
    assert docker_api.inspect_container(cid)["State"]["Status"] == "paused"
    gateway.containers.unpause(cid)
    gateway.containers.stop(cid, timeout=0)
    assert docker_api.inspect_container(cid)["State"]["Status"] == "exited"
    gateway.containers.start(cid)
    assert docker_api.inspect_container(cid)["State"]["Running"]
    gateway.containers.kill(cid)
    assert not docker_api.inspect_container(cid)["State"]["Running"]
    gateway.containers.remove(cid)
    assert gateway.containers.get_summary(cid) is None


def test_unknown_container_raises_not_found():
    with pytest.raises(gateway.NotFound):
        gateway.containers.inspect_container("no-such-container-dockerweb")


def test_pausing_a_stopped_container_is_a_conflict_with_the_engines_reason(make_container):
    container = make_container(start=False)
    with pytest.raises(gateway.Conflict, match="not running"):
        gateway.containers.pause(container["Id"])


def test_inspect_reports_env_ports_and_mounts(make_container):
    container = make_container(
        environment=["A=1", "B=x=y"],
        ports=[80],
        host_config={"port_bindings": {80: None}},
        volumes=["/data"],
    )
    detail = gateway.containers.inspect_container(container["Id"])
    assert ("A", "1") in detail.env and ("B", "x=y") in detail.env
    assert any(p.container_port == 80 and p.host_port for p in detail.ports)
    assert [m.destination for m in detail.mounts] == ["/data"]
    assert detail.mounts[0].anonymous


def test_dead_socket_is_engine_unavailable_naming_the_address(settings, tmp_path):
    settings.DOCKER_HOST = f"unix://{tmp_path}/nothing.sock"
    try:
        with pytest.raises(gateway.EngineUnavailable) as caught:
            gateway.containers.list_containers()
        assert str(tmp_path) in str(caught.value)
    finally:
        gateway.reset()


def test_the_portals_own_volume_helpers_are_left_out_of_listings(make_container):
    name, labels = portal_helpers.new_helper()
    helper = make_container(start=False, name=name, labels=labels)
    forged = make_container(start=False, labels={HELPER_LABEL: labels[HELPER_LABEL]})
    listed = {c.id for c in gateway.containers.list_containers()}
    assert helper["Id"] not in listed
    # The same label on a container of another name is not the portal's: it is listed.
    assert forged["Id"] in listed
