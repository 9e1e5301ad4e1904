"""What a pull, push or build may reach on the host's own network.

The engine fetches from the host's network namespace, loopback included: a Dockerfile's
`ADD http://127.0.0.1:…/` or a pull from `127.0.0.1:…/x` makes the daemon read cloud
metadata, loopback-only admin pages or an engine's TCP socket, and a build shows the answer
in its output. For anyone but an administrator:

- pulls and pushes from registries at loopback or link-local addresses are refused, unless
  an administrator added that registry under Images → Registries;
- a Dockerfile (typed, or in an uploaded context) may not ADD from a URL, or from a
  variable that could hold one, directly or through ONBUILD;
- a build starts only FROM images already on the engine (it would pull a missing one from
  wherever its name points), and their ONBUILD triggers are judged like the Dockerfile.

A name that resolves to a loopback address only when the engine looks it up (DNS
rebinding) can't be seen from here; registries are named by addresses an admin controls.
"""

import concurrent.futures
import ipaddress
import socket

from dockerweb import gateway
from dockerweb.host_access import is_admin
from images.dockerfile import Instruction, instructions, split_arguments, substitute
from images.models import Registry

RESOLVE_TIMEOUT = 2.0
HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
ADMINS_ONLY_PULL = (
    "{host} is an address of the engine's own host: only administrators may pull from or "
    "push to it, unless an administrator adds the registry under Images → Registries."
)
REMOTE_ADD = (
    "Line {line}: ADD from a URL ({source}) makes the engine fetch it from its own host's "
    "network; only administrators may. Put the file in the build context, or COPY it."
)
VARIABLE_ADD = (
    "Line {line}: ADD from a build variable ({source}) could name a URL; only administrators "
    "may. Write the path in the Dockerfile."
)


# -- pulls and pushes --------------------------------------------------------------------------


def pull_problem(user, reference: str) -> str | None:
    """Why `user` may not pull or push `reference`, or None."""
    if is_admin(user):
        return None
    address = gateway.images.registry_of(reference)
    host = host_of(address)
    if not is_hosts_own(host):
        return None
    if Registry.objects.filter(address=address).exists():
        return None
    return ADMINS_ONLY_PULL.format(host=host)


def host_of(address: str) -> str:
    """The host of a registry address (`host:port`, `[v6]:port`), without the port."""
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def is_hosts_own(host: str) -> bool:
    """Loopback, link-local or unspecified: addresses that reach the engine's host itself."""
    if host in HUB_HOSTS:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _is_own_address(ipaddress.ip_address(host))
    except ValueError:
        pass
    return any(_is_own_address(address) for address in _resolve(host))


def _is_own_address(address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_loopback or address.is_link_local or address.is_unspecified


def _resolve(host: str) -> list:
    """The addresses `host` resolves to here (none when it doesn't, in time)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(socket.getaddrinfo, host, None)
        infos = future.result(timeout=RESOLVE_TIMEOUT)
    except (OSError, UnicodeError, concurrent.futures.TimeoutError):
        return []
    finally:
        pool.shutdown(wait=False)
    found = []
    for info in infos:
        try:
            found.append(ipaddress.ip_address(info[4][0].split("%")[0]))
        except ValueError:
            continue
    return found


# -- builds ------------------------------------------------------------------------------------


def build_problems(user, dockerfile: str, buildargs: dict[str, str]) -> list[str]:
    """Why `user` may not build this Dockerfile ([] when they may).

    Raises GatewayError when the engine can't say which base images it has.
    """
    if is_admin(user):
        return []
    problems: list[str] = []
    variables = dict(buildargs)
    stages: set[str] = set()
    seen_from = False
    for instruction in instructions(dockerfile):
        if instruction.keyword == "ARG" and not seen_from:
            name, _, default = instruction.arguments.partition("=")
            variables.setdefault(name.strip(), default.strip().strip("\"'"))
        elif instruction.keyword == "FROM":
            seen_from = True
            _, words = split_arguments(instruction.arguments)
            if words:
                problems += _base_image_problems(user, words[0], instruction, variables, stages)
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
        elif instruction.keyword == "COPY":
            flags, _ = split_arguments(instruction.arguments)
            source = flags.get("from", "")
            if source and not source.isdigit() and source.lower() not in stages:
                problems += _base_image_problems(user, source, instruction, variables, stages)
        problems += _add_problems(instruction)
    return problems


def _add_problems(instruction: Instruction) -> list[str]:
    keyword, arguments = instruction.keyword, instruction.arguments
    if keyword == "ONBUILD":
        inner_keyword, _, inner_arguments = arguments.partition(" ")
        inner = Instruction(inner_keyword.upper(), inner_arguments.strip(), instruction.line)
        return [f"ONBUILD: {p}" for p in _add_problems(inner)]
    if keyword != "ADD":
        return []
    _, words = split_arguments(arguments)
    problems = []
    for source in words[:-1]:
        source = source.strip("\"'")
        if "://" in source or source.startswith("git@"):
            problems.append(REMOTE_ADD.format(line=instruction.line, source=source))
        elif "$" in source:
            problems.append(VARIABLE_ADD.format(line=instruction.line, source=source))
    return problems


def _base_image_problems(user, raw: str, instruction, variables, stages) -> list[str]:
    image = substitute(raw, variables)
    line = instruction.line
    if image is None:
        return [f"Line {line}: the base image “{raw}” depends on a build variable without a value."]
    if image.lower() == "scratch" or image.lower() in stages:
        return []
    try:
        config = gateway.images.image_config(image)
    except gateway.NotFound:
        return [
            f"Line {line}: the base image {image} is not on this engine, and the build would "
            "pull it: pull it first (Images → Pull), then build."
        ]
    problems = []
    for trigger in config.on_build:
        keyword, _, arguments = trigger.strip().partition(" ")
        inner = Instruction(keyword.upper(), arguments.strip(), line)
        problems += [f"ONBUILD trigger of {image}: {p}" for p in _add_problems(inner)]
    return problems
