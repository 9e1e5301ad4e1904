"""The one host-access policy: may this user create exactly this container?

Whatever creates or recreates a container (the run form, pull-and-run jobs, the Settings
tab; later exec, services, compose) builds the complete create body first and asks
`check_create` or `check_recreate`. They answer with a CheckedConfig — the only thing the
gateway creates containers from — or raise Refused with every reason, each tied to the form
field it is about. The rules:

- Host access (see config.host_access: privileged, capabilities, devices, host namespaces,
  unsafe security options, sysctls, host binds and bind-style volumes, mounts over system
  paths…) is for administrators (active superusers) only.
- An administrator's new host binds must still lie inside DOCKERWEB_BIND_ROOTS on a local
  engine (binds.check_bind_source); binds the container already had may be kept as they are.
- Nobody gets the engine's own socket (or a folder holding it) through the portal.
- Volumes are made only with the drivers the engine offers (gateway.volumes.volume_drivers).
- Labels in the portal's namespace (`dockerweb.`) are set by the portal alone: a user can't
  add or change them, nor inherit them from an image.
- Nobody but an administrator recreates a container that already holds host access, or
  mounts a volume that such a container mounts (what is written there, it may run).
"""

import copy
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from dockerweb import gateway
from dockerweb.gateway.types import PORTAL_LABEL_PREFIX, CheckedConfig

from . import config
from .binds import check_bind_source

# Provenance the portal's own builds stamp on images: informational, never trusted, so a
# container may carry it on from its image.
INHERITABLE_PORTAL_LABELS = frozenset({"dockerweb.built-by"})
ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
ADMINS_ONLY = "host access is for administrators only"


@dataclass(frozen=True)
class Problem:
    message: str
    field: str = ""  # the form field it is about ("volumes", "labels", "image"), or ""


class Refused(Exception):
    """The policy refused a configuration; `problems` says every reason."""

    def __init__(self, problems: list[Problem]):
        super().__init__(" ".join(p.message for p in problems))
        self.problems = problems

    def add_to(self, form) -> None:
        """Put each reason next to the form field it is about (or at the form's top)."""
        for problem in self.problems:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)


def is_admin(user) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def check_create(
    user,
    body: dict,
    *,
    name: str | None,
    portal_labels: dict[str, str],
    image_present: bool = True,
) -> CheckedConfig:
    """Judge a new container. `portal_labels`: the `dockerweb.` labels the portal itself put
    in `body`. `image_present=False` judges a body whose image is still to be pulled (its
    labels are judged again, by a second call, once it is here).

    Raises Refused, and GatewayError when the engine can't answer what the policy must know.
    """
    problems = _problems(
        user, body, allowed_portal_labels=portal_labels, kept_binds=set(), image=image_present
    )
    if problems:
        raise Refused(problems)
    return CheckedConfig(copy.deepcopy(body), name)


def check_recreate(user, plan: gateway.recreate.RecreatePlan) -> CheckedConfig:
    """Judge the replacement of an existing container (the Settings tab).

    Raises Refused, and GatewayError when the engine can't answer.
    """
    current = plan.current_body
    held = [] if is_admin(user) else held_host_access(current)
    if held:
        raise Refused([Problem(holds_host_access_message(held))])
    portal_labels = {
        key: value
        for key, value in (current.get("Labels") or {}).items()
        if key.startswith(PORTAL_LABEL_PREFIX)
    }
    problems = _problems(
        user,
        plan.body,
        allowed_portal_labels=portal_labels,
        kept_binds=_binds(current),
        image=True,
    )
    if problems:
        raise Refused(problems)
    return CheckedConfig(copy.deepcopy(plan.body), plan.name, plan.extra_networks)


def held_host_access(body: dict) -> list[config.Finding]:
    """The host access a configuration holds (asks the engine about its named volumes)."""
    return config.host_access(body, _volume_facts(body))


def holds_host_access_message(held: list[config.Finding]) -> str:
    return (
        "Only administrators can change the settings of this container: it has host access "
        f"(it {'; it '.join(finding.what for finding in held)})."
    )


# -- the rules ---------------------------------------------------------------------------------


def _problems(user, body: dict, *, allowed_portal_labels, kept_binds, image: bool) -> list:
    problems: list[Problem] = []
    image_labels: dict[str, str] = {}
    if image:
        try:
            image_labels = gateway.images.image_config(body.get("Image", "")).labels
        except gateway.NotFound:
            problems.append(
                Problem(f"The image “{body.get('Image')}” is not on this engine.", "image")
            )
    problems += _label_problems(body.get("Labels") or {}, image_labels, allowed_portal_labels)
    volumes = _volume_facts(body)
    problems += _driver_problems(body, volumes)
    mounts = config.mounts_of(body)
    problems += _engine_socket_problems(mounts, volumes)
    if is_admin(user):
        problems += _admin_bind_problems(mounts, volumes, user, kept_binds)
    else:
        problems += [
            Problem(f"This container {finding.what}: {ADMINS_ONLY}.", finding.field)
            for finding in config.host_access(body, volumes)
        ]
        problems += _shared_volume_problems(volumes)
    return problems


def _shared_volume_problems(volumes: dict) -> list[Problem]:
    """A volume that a container with host access mounts is a way into that container: what
    a user writes there, it may run with its privileges. Sharing one is for administrators."""
    problems = []
    for name, existing in volumes.items():
        if existing is None:
            continue
        for user_name, body in gateway.recreate.bodies_of_volume_users(name):
            if held_host_access(body):
                problems.append(
                    Problem(
                        f"The volume {name} is also mounted by {user_name}, which has host "
                        f"access: sharing it is for administrators only.",
                        "volumes",
                    )
                )
                break
    return problems


def _label_problems(labels: dict, image_labels: dict, allowed: dict) -> list[Problem]:
    problems = [
        Problem(
            f"The label {key} is in the portal's own namespace ({PORTAL_LABEL_PREFIX}): "
            "only the portal sets those.",
            "labels",
        )
        for key, value in labels.items()
        if key.startswith(PORTAL_LABEL_PREFIX) and allowed.get(key) != value
    ]
    problems += [
        Problem(
            f"The image carries the label {key}, in the portal's own namespace "
            f"({PORTAL_LABEL_PREFIX}): containers can't inherit it.",
            "image",
        )
        for key, value in image_labels.items()
        if key.startswith(PORTAL_LABEL_PREFIX)
        and key not in labels
        and key not in INHERITABLE_PORTAL_LABELS
        and allowed.get(key) != value
    ]
    return problems


def _volume_facts(body: dict) -> dict:
    """Name → the existing volume (or None: it would be created) for each named volume."""
    facts = {}
    for mount in config.mounts_of(body):
        if mount.kind == "volume" and mount.source not in facts:
            try:
                facts[mount.source] = gateway.volumes.inspect_volume(mount.source)
            except gateway.NotFound:
                facts[mount.source] = None
    return facts


def _driver_problems(body: dict, volumes: dict) -> list[Problem]:
    """Volumes this container would create must use a driver the engine offers."""
    wanted = []
    default = (body.get("HostConfig") or {}).get("VolumeDriver") or ""
    if default:
        wanted.append(default)
    for mount in config.mounts_of(body):
        new_volume = mount.kind == "anonymous" or (
            mount.kind == "volume" and volumes.get(mount.source) is None
        )
        if new_volume and mount.driver:
            wanted.append(mount.driver)
    if not wanted:
        return []
    offered = gateway.volumes.volume_drivers()
    return [
        Problem(
            f"The volume driver “{driver}” is not one this engine offers ({', '.join(offered)}).",
            "volumes",
        )
        for driver in dict.fromkeys(wanted)
        if driver not in offered
    ]


def _engine_sockets() -> set[str]:
    """The usual socket paths, DOCKER_HOST's and the current engine's (several engines: the
    one a service or container is created on may listen elsewhere)."""
    from dockerweb import engines

    paths = set(ENGINE_SOCKETS)
    for address in (settings.DOCKER_HOST, engines.current().address):
        if address.startswith("unix://"):
            paths.add(address[len("unix://") :])
    return paths | {os.path.realpath(path) for path in paths}


def _holds_engine_socket(host_path: str) -> bool:
    if not host_path.startswith("/"):
        return False
    real = os.path.realpath(host_path).rstrip("/")
    return any(sock == real or sock.startswith(f"{real}/") for sock in _engine_sockets())


def _engine_socket_problems(mounts, volumes: dict) -> list[Problem]:
    problems = []
    for mount in mounts:
        host_path = config.host_path_of(mount, volumes)
        if host_path and _holds_engine_socket(host_path):
            problems.append(
                Problem(
                    f"{host_path} holds the Docker engine's socket, which is full control of "
                    "the host: the portal never mounts it into a container.",
                    "volumes",
                )
            )
    return problems


def _binds(body: dict) -> set[tuple[str, str, bool]]:
    return {(m.source, m.target, m.read_only) for m in config.mounts_of(body) if m.kind == "bind"}


def _admin_bind_problems(mounts, volumes: dict, user, kept_binds) -> list[Problem]:
    """An administrator's host paths follow the bind rule — binds, and new volumes whose
    options bind a host path — except binds the container already had (kept as they were,
    or made read-only)."""
    problems = []
    for mount in mounts:
        if mount.kind == "bind":
            if (mount.source, mount.target, mount.read_only) in kept_binds or (
                mount.read_only and (mount.source, mount.target, False) in kept_binds
            ):
                continue
        elif volumes.get(mount.source) is not None:
            continue  # an existing volume: its host path was judged when it was made
        host_path = config.host_path_of(mount, volumes)
        if not host_path:
            continue
        try:
            check_bind_source(host_path, user)
        except ValidationError as exc:
            problems.append(Problem(f"“{host_path}”: {exc.messages[0]}", "volumes"))
    return problems
