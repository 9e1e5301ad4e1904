"""The run form's line parsers and the image reference grammar, without the engine."""

import pytest
from django.core.exceptions import ValidationError

from dockerweb import parsing
from dockerweb.gateway.types import PortSpec, VolumeSpec
from dockerweb.references import reference_problem

DIGEST = "sha256:" + "0123456789abcdef" * 4


def messages_of(call, text):
    with pytest.raises(ValidationError) as caught:
        call(text)
    return caught.value.messages


# -- environment and labels ----------------------------------------------------------------


def test_env_lines_become_key_value_strings_skipping_blanks_and_comments():
    text = "A=1\n\n# a comment\n  B = spaced\nC=x=y\nD=\n"
    assert parsing.parse_env(text) == ("A=1", "B= spaced", "C=x=y", "D=")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NOEQUALS", "Line 1: “NOEQUALS” needs the form KEY=VALUE."),
        ("A=1\n1BAD=x", "Line 2: “1BAD” is not a valid variable name."),
        ("=value", "Line 1: “” is not a valid variable name."),
        ("BAD KEY=1", "Line 1: “BAD KEY” is not a valid variable name."),
        ("A=1\n\nA=2", "Line 3: A is already set on line 1."),
    ],
)
def test_bad_env_lines_are_refused_naming_the_line(text, expected):
    assert messages_of(parsing.parse_env, text) == [expected]


def test_every_bad_env_line_is_reported_at_once():
    assert len(messages_of(parsing.parse_env, "X\nGOOD=1\nY\n2=z")) == 3


def test_labels_allow_dotted_and_slashed_keys_and_values_with_equals():
    text = "com.example.team=web\ncom.example/role=a=b\nempty="
    assert parsing.parse_labels(text) == {
        "com.example.team": "web",
        "com.example/role": "a=b",
        "empty": "",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("novalue", "needs the form KEY=VALUE"),
        (".hidden=1", "is not a valid label name"),
        ("a=1\na=2", "already set on line 1"),
    ],
)
def test_bad_label_lines_are_refused(text, expected):
    (message,) = messages_of(parsing.parse_labels, text)
    assert expected in message


# -- ports -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("8080:80", PortSpec(80, "tcp", 8080, "")),
        ("80", PortSpec(80, "tcp", None, "")),
        ("53/udp", PortSpec(53, "udp", None, "")),
        ("127.0.0.1:5353:53/udp", PortSpec(53, "udp", 5353, "127.0.0.1")),
        ("8080:80/UDP", PortSpec(80, "udp", 8080, "")),
        ("9000:9000/sctp", PortSpec(9000, "sctp", 9000, "")),
        ("[::1]:8080:80", PortSpec(80, "tcp", 8080, "::1")),
        ("[2001:db8::5]:443:8443/tcp", PortSpec(8443, "tcp", 443, "2001:db8::5")),
        ("0.0.0.0:1:65535", PortSpec(65535, "tcp", 1, "0.0.0.0")),  # noqa: S104
    ],
)
def test_port_lines_parse_to_specs(line, expected):
    assert parsing.parse_ports(line) == (expected,)


def test_several_port_lines_keep_their_order():
    specs = parsing.parse_ports("8080:80\n# comment\n\n8443:443\n53/udp")
    assert [s.container_port for s in specs] == [80, 443, 53]


def test_the_same_host_port_with_different_protocols_is_allowed():
    specs = parsing.parse_ports("5353:53/tcp\n5353:53/udp")
    assert {s.protocol for s in specs} == {"tcp", "udp"}


def test_the_same_host_port_on_two_specific_addresses_is_allowed():
    assert len(parsing.parse_ports("127.0.0.1:8080:80\n127.0.0.2:8080:81")) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("70000:80", "Line 1: Host port 70000 is outside 1–65535."),
        ("8080:0", "Line 1: Container port 0 is outside 1–65535."),
        ("abc:80", "Line 1: Host port “abc” is not a number."),
        ("8080:http", "Line 1: Container port “http” is not a number."),
        ("8080:80/xyz", "Line 1: protocol “xyz” must be tcp, udp or sctp."),
        ("999.1.1.1:8080:80", "Line 1: “999.1.1.1” is not an IP address."),
        ("[::1]8080:80", "Line 1: an IPv6 address needs the form [addr]:host:container."),
        ("[nonsense]:8080:80", "Line 1: “nonsense” is not an IP address."),
        ("8080:80\n8080:81", "Line 2: host port 8080/tcp is already used on line 1."),
        ("0.0.0.0:8080:80\n8080:81", "Line 2: host port 8080/tcp is already used on line 1."),
        ("8080:80\n127.0.0.1:8080:81", "Line 2: host port 8080/tcp is already used on line 1."),
    ],
)
def test_bad_port_lines_are_refused_naming_the_line(text, expected):
    assert messages_of(parsing.parse_ports, text) == [expected]


def test_every_bad_port_line_is_reported_at_once():
    assert len(messages_of(parsing.parse_ports, "x:80\n8080:80\n1:2:3:4\n80/foo")) == 3


# -- volumes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("data:/var/lib/data", VolumeSpec("/var/lib/data", "data", False)),
        ("data:/var/lib/data:ro", VolumeSpec("/var/lib/data", "data", True)),
        ("data:/var/lib/data:rw", VolumeSpec("/var/lib/data", "data", False)),
        ("my_vol.1-x:/srv/", VolumeSpec("/srv", "my_vol.1-x", False)),
        ("/cache", VolumeSpec("/cache", "", False)),
    ],
)
def test_volume_lines_parse_to_named_or_anonymous_specs(line, expected):
    assert parsing.parse_volumes(line) == (expected,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data:relative/path", "must be an absolute path below /"),
        ("relative", "must be an absolute path below /"),
        ("data:/", "must be an absolute path below /"),
        ("data:/a/../etc", "must be an absolute path below /"),
        ("/etc:/x", "is a host path: Bind mounts of host paths are only for admins"),
        ("./here:/x", "is a host path: only absolute host paths"),
        ("~/home:/x", "is a host path: only absolute host paths"),
        ("x:/data", "at least 2 characters"),
        ("bad name:/data", "may only contain letters"),
        ("a:b:c:/d", "needs the form name:/path[:ro] or /path"),
        ("one:/data\ntwo:/data/", "/data is already mounted on line 1"),
        # The engine refuses a read-only anonymous volume; say so before it does.
        ("/cache:ro", "anonymous volume can't be read-only"),
    ],
)
def test_bad_volume_lines_are_refused(text, expected):
    (message,) = messages_of(parsing.parse_volumes, text)
    assert expected in message


# -- image references ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "busybox",
        "busybox:1.36",
        "library/busybox:latest",
        "dockerweb-test/busybox:1",
        "registry.example.com/team/app:V1.0_rc-2",
        "localhost:5000/ns/app:1.0",
        "127.0.0.1:5000/app",
        "[::1]:5000/app:tag",
        "Registry.Example.com/app",
        f"busybox@{DIGEST}",
        f"busybox:1.36@{DIGEST}",
        f"localhost:5000/app@{DIGEST}",
        "a__b/c-d--e.f",
        "0123456789ab",
        DIGEST,
    ],
)
def test_valid_image_references_are_accepted(reference):
    assert reference_problem(reference) is None


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("UPPER/Case", "Repository names must be lowercase."),
        ("BusyBox:1", "Repository names must be lowercase."),
        ("foo::bar", "Not a valid image reference"),
        ("busybox:", "Not a valid image reference"),
        ("busybox:-tag", "Not a valid image reference"),
        ("busybox:" + "t" * 129, "Not a valid image reference"),
        ("app:tä", "Not a valid image reference"),
        ("-leading/dash", "Not a valid image reference"),
        ("trailing/", "Not a valid image reference"),
        ("a//b", "Not a valid image reference"),
        ("registry:port/app", "Not a valid image reference"),
        ("busybox@sha256:short", "Not a valid image reference"),
        ("my image", "can't contain spaces"),
        ("a" * 256, "longer than 255 characters"),
    ],
)
def test_invalid_image_references_say_why(reference, expected):
    problem = reference_problem(reference)
    assert problem is not None
    assert expected in problem
