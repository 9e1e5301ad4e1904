"""Parsers for the run form's fields (image, command, and the line-based env, labels,
ports, volumes), which the New service form shares.

Each returns clean values or raises ValidationError naming the line and what is wrong,
so the user fixes the form before anything reaches the engine.
"""

import ipaddress
import re
import shlex

from django.core.exceptions import ValidationError

from dockerweb.gateway.types import ALL_INTERFACES, PORTAL_LABEL_PREFIX, PortSpec, VolumeSpec
from dockerweb.host_access import binds
from dockerweb.references import reference_problem

ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")
# The engine's rule for container and volume names.
OBJECT_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
PROTOCOLS = ("tcp", "udp", "sctp")


def parse_image(text: str) -> str:
    """An image reference or id, as typed (surrounding spaces dropped)."""
    image = text.strip()
    problem = reference_problem(image)
    if problem:
        raise ValidationError(problem)
    return image


def parse_command(text: str) -> tuple[str, ...]:
    """A command that overrides the image's, split into arguments as a shell would."""
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise ValidationError(f"The command can't be split into arguments: {exc}.") from None


def _lines(text: str):
    """(line number, stripped line), skipping blanks and # comments."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_key_values(text: str, *, what: str, key_re: re.Pattern) -> dict[str, str]:
    """`KEY=VALUE` lines → dict; the value may be empty or contain `=`."""
    values: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    errors = []
    for number, line in _lines(text):
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            errors.append(f"Line {number}: “{line}” needs the form KEY=VALUE.")
        elif not key_re.match(key):
            errors.append(f"Line {number}: “{key}” is not a valid {what} name.")
        elif key in first_seen:
            errors.append(f"Line {number}: {key} is already set on line {first_seen[key]}.")
        else:
            first_seen[key] = number
            values[key] = value
    if errors:
        raise ValidationError(errors)
    return values


def parse_env(text: str) -> tuple[str, ...]:
    values = parse_key_values(text, what="variable", key_re=ENV_KEY_RE)
    return tuple(f"{key}={value}" for key, value in values.items())


def parse_labels(text: str, *, portal_labels: dict[str, str] | None = None) -> dict[str, str]:
    """Label lines; keys in the portal's own namespace (`dockerweb.`) are refused, except
    `portal_labels` the object already carries, kept exactly as they are."""
    labels = parse_key_values(text, what="label", key_re=LABEL_KEY_RE)
    kept = portal_labels or {}
    refused = [
        f"{key}: labels starting with “{PORTAL_LABEL_PREFIX}” belong to the portal itself; "
        "use another name."
        for key, value in labels.items()
        if key.startswith(PORTAL_LABEL_PREFIX) and kept.get(key) != value
    ]
    if refused:
        raise ValidationError(refused)
    return labels


def _port_number(value: str, number: int, role: str) -> int:
    # ASCII digits only: "²".isdigit() is true, and int("²") raises.
    if not (value.isascii() and value.isdigit()) or len(value) > 5:
        raise ValidationError(f"Line {number}: {role} port “{value[:20]}” is not a number.")
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValidationError(f"Line {number}: {role} port {port} is outside 1–65535.")
    return port


def _split_host_ip(line: str, number: int) -> tuple[str, str]:
    """Take a leading host IP off `[ip:]host:container`: IPv6 comes in brackets."""
    if line.startswith("["):
        end = line.find("]:")
        if end < 0:
            raise ValidationError(
                f"Line {number}: an IPv6 address needs the form [addr]:host:container."
            )
        ip, rest = line[1:end], line[end + 2 :]
    elif line.count(":") == 2:
        ip, rest = line.split(":", 1)
    else:
        return "", line
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ValidationError(f"Line {number}: “{ip}” is not an IP address.") from None
    return ip, rest


def _addresses_overlap(a: str, b: str) -> bool:
    """Whether two host IPs of a binding would clash ("" is every interface, both families)."""
    if a == b or not a or not b:
        return True
    if a in ALL_INTERFACES or b in ALL_INTERFACES:
        return ipaddress.ip_address(a).version == ipaddress.ip_address(b).version
    return False


def parse_ports(text: str) -> tuple[PortSpec, ...]:
    """Lines of `[ip:]host:container[/proto]`, or `container[/proto]` for an engine-chosen port."""
    specs: list[PortSpec] = []
    errors = []
    taken: dict[tuple[int, str], list[tuple[str, int]]] = {}
    for number, line in _lines(text):
        try:
            body, _, protocol = line.partition("/")
            protocol = protocol.lower() or "tcp"
            if protocol not in PROTOCOLS:
                raise ValidationError(
                    f"Line {number}: protocol “{protocol}” must be tcp, udp or sctp."
                )
            host_ip, body = _split_host_ip(body, number)
            if ":" in body:
                host, container = body.split(":", 1)
                host_port = _port_number(host, number, "Host")
            else:
                host_port, container = None, body
                if host_ip:
                    raise ValidationError(f"Line {number}: give a host port after the IP address.")
            container_port = _port_number(container, number, "Container")
            if host_port is not None:
                # 8080:80 and 127.0.0.1:8080:81 clash on the host just as two 8080:80 do.
                earlier = taken.setdefault((host_port, protocol), [])
                for other_ip, other_line in earlier:
                    if _addresses_overlap(host_ip, other_ip):
                        raise ValidationError(
                            f"Line {number}: host port {host_port}/{protocol} is already used on line {other_line}."
                        )
                earlier.append((host_ip, number))
            specs.append(PortSpec(container_port, protocol, host_port, host_ip))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return tuple(specs)


def parse_volumes(text: str, *, user=None) -> tuple[VolumeSpec, ...]:
    """Lines of `name:/path[:ro|rw]` (a named volume), `/path` (an anonymous one) or
    `/host/path:/path[:ro|rw]` (a bind mount: only as dockerweb.host_access.binds allows `user`)."""
    specs: list[VolumeSpec] = []
    errors = []
    destinations: dict[str, int] = {}
    for number, line in _lines(text):
        parts = line.split(":")
        mode = "rw"
        if len(parts) > 1 and parts[-1] in ("ro", "rw"):
            mode = parts.pop()
        if len(parts) == 1:
            name, destination = "", parts[0]
        elif len(parts) == 2:
            name, destination = parts
        else:
            errors.append(f"Line {number}: “{line}” needs the form name:/path[:ro] or /path.")
            continue
        bind_source = ""
        if name.startswith(("/", ".", "~")):
            try:
                if not name.startswith("/"):
                    raise ValidationError(
                        "only absolute host paths (/srv/data:/path) can be bound; "
                        "use a named volume."
                    )
                bind_source = binds.check_bind_source(name, user)
            except ValidationError as exc:
                errors.append(f"Line {number}: “{name}” is a host path: {exc.messages[0]}")
                continue
            name = ""
        if name and not OBJECT_NAME_RE.match(name):
            errors.append(
                f"Line {number}: volume name “{name}” may only contain letters, digits, _ . - "
                "and must be at least 2 characters."
            )
            continue
        if not destination.startswith("/") or destination == "/" or ".." in destination.split("/"):
            errors.append(
                f"Line {number}: the container path “{destination}” must be an absolute path below /."
            )
            continue
        if not name and not bind_source and mode == "ro":
            # The engine refuses it ("must not set ReadOnly mode when using anonymous volumes").
            errors.append(
                f"Line {number}: an anonymous volume can't be read-only (it starts empty); "
                "name it (name:/path:ro) or drop :ro."
            )
            continue
        destination = destination.rstrip("/") or "/"
        if destination in destinations:
            errors.append(
                f"Line {number}: {destination} is already mounted on line {destinations[destination]}."
            )
            continue
        destinations[destination] = number
        specs.append(
            VolumeSpec(
                destination=destination,
                name=name,
                read_only=mode == "ro",
                bind_source=bind_source,
            )
        )
    if errors:
        raise ValidationError(errors)
    return tuple(specs)
