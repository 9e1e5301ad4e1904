"""Reading host access out of a create body: every field that reaches the host is found,
whichever way it is written, and an ordinary container holds none."""

from types import SimpleNamespace

import pytest

from dockerweb.host_access.config import host_access, mounts_of

ORDINARY = {
    "Image": "busybox",
    "Cmd": ["sleep", "1"],
    "Volumes": {"/cache": {}},
    "HostConfig": {
        "Binds": ["data:/data:rw"],
        "Mounts": [{"Type": "tmpfs", "Target": "/run/x"}, {"Type": "volume", "Target": "/anon"}],
        "NetworkMode": "bridge",
        "PidMode": "",
        "CgroupnsMode": "host",
        "SecurityOpt": ["no-new-privileges"],
        "MaskedPaths": [
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/timer_list",
            "/sys/firmware",
        ],
        "ReadonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        "Runtime": "runc",
    },
}
LOCAL = SimpleNamespace(driver="local", options={})
BIND_STYLE = SimpleNamespace(driver="local", options={"type": "none", "o": "bind", "device": "/"})


def with_host(**fields) -> dict:
    return {**ORDINARY, "HostConfig": {**ORDINARY["HostConfig"], **fields}}


def test_an_ordinary_container_holds_no_host_access():
    assert host_access(ORDINARY, {"data": LOCAL}) == []


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"Privileged": True}, "privileged"),
        ({"CapAdd": ["SYS_ADMIN"]}, "SYS_ADMIN"),
        ({"Capabilities": ["CAP_SYS_ADMIN"]}, "capability set"),
        ({"Devices": [{"PathOnHost": "/dev/sda"}]}, "devices"),
        ({"DeviceRequests": [{"Count": -1}]}, "devices"),
        ({"DeviceCgroupRules": ["c 1:3 mr"]}, "devices"),
        ({"PidMode": "host"}, "processes"),
        ({"IpcMode": "host"}, "shared memory"),
        ({"NetworkMode": "host"}, "network"),
        ({"UTSMode": "host"}, "hostname"),
        ({"UsernsMode": "host"}, "user namespace"),
        ({"PidMode": "container:abc"}, "another container"),
        ({"SecurityOpt": ["seccomp=unconfined"]}, "seccomp=unconfined"),
        ({"SecurityOpt": ["apparmor=unconfined"]}, "apparmor"),
        ({"SecurityOpt": ["systempaths=unconfined"]}, "systempaths"),
        ({"Sysctls": {"net.ipv4.ip_forward": "1"}}, "kernel parameters"),
        ({"CgroupParent": "/"}, "cgroup"),
        ({"Runtime": "custom"}, "runtime"),
        ({"MaskedPaths": []}, "masks"),
        ({"ReadonlyPaths": ["/proc/bus"]}, "masks"),
        ({"VolumesFrom": ["other"]}, "other containers"),
        ({"Binds": ["/etc:/host-etc:ro"]}, "host path /etc"),
        ({"Binds": ["/var/run/docker.sock:/s"]}, "host path"),
        ({"Mounts": [{"Type": "bind", "Source": "/", "Target": "/h"}]}, "host path /"),
        ({"Mounts": [{"Type": "npipe", "Source": "x", "Target": "/p"}]}, "npipe"),
        ({"Binds": ["data:/bin"]}, "system path /bin"),
        ({"Binds": ["data:/usr/local/bin/tool"]}, "system path"),
        ({"Mounts": [{"Type": "volume", "Target": "/etc"}]}, "system path /etc"),
        ({"Binds": ["data:/proc/sys/kernel"]}, "system path"),
    ],
)
def test_each_way_to_the_host_is_found(fields, said):
    found = host_access(with_host(**fields), {"data": LOCAL})

    assert found, fields
    assert any(said in finding.what for finding in found), [f.what for f in found]


def test_a_named_volume_that_binds_a_host_path_is_host_access():
    body = with_host(Binds=["exported:/data"])

    (finding,) = host_access(body, {"exported": BIND_STYLE})

    assert "host path /" in finding.what and finding.field == "volumes"


def test_a_new_volume_whose_driver_options_bind_a_host_path_is_host_access():
    mount = {
        "Type": "volume",
        "Target": "/data",
        "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": BIND_STYLE.options}},
    }

    for source in ("fresh", ""):
        found = host_access(with_host(Mounts=[{**mount, "Source": source}]), {"fresh": None})
        assert [f.field for f in found] == ["volumes"], source


def test_config_volumes_count_as_anonymous_mounts():
    body = {**ORDINARY, "Volumes": {"/etc": {}}}

    assert [m.kind for m in mounts_of(body) if m.target == "/etc"] == ["anonymous"]
    assert any("/etc" in f.what for f in host_access(body, {"data": LOCAL}))
