"""Swarm services go through the one policy: a service is judged as the container its tasks
would run.

`container_body(spec)` turns a complete service spec into the container create body the
policy already judges (the mapping is the engine's own: a task's container gets its
ContainerSpec's mounts, capabilities, sysctls… as the HostConfig fields below). There are no
checks of service fields here: what the policy says of that body is the answer. A spec
field this mapping does not know is refused outright, so a field added later can't slip
past the policy unjudged.

- `check_service_create`: a new service (check_create on its body).
- `check_service_change`: a scale, a new image or a rollback of an existing service. Like a
  container's Settings tab: nobody but an administrator changes a service that already holds
  host access; the spec it becomes is judged as a new one.
"""

import copy

from dockerweb.gateway.swarm_types import CheckedService
from dockerweb.gateway.types import PORTAL_LABEL_PREFIX

from .policy import ADMINS_ONLY, Problem, Refused, held_host_access, is_admin

# ContainerSpec field → HostConfig field of the task's container (same meaning, same shape).
_HOST_FIELDS = {
    "Mounts": "Mounts",
    "CapabilityAdd": "CapAdd",
    "CapabilityDrop": "CapDrop",
    "Sysctls": "Sysctls",
    "Init": "Init",
    "ReadOnly": "ReadonlyRootfs",
    "Ulimits": "Ulimits",
}
# ContainerSpec fields that reach nothing outside the container (the container's own
# process, name resolution, files the swarm hands it).
_CONTAINED = frozenset(
    {
        "Image",
        "Labels",
        "Command",
        "Args",
        "Env",
        "Dir",
        "User",
        "Groups",
        "Hostname",
        "TTY",
        "OpenStdin",
        "StopSignal",
        "StopGracePeriod",
        "HealthCheck",
        "Hosts",
        "DNSConfig",
        "Secrets",
        "Configs",
        "Isolation",
    }
)
# TaskTemplate fields that place and restart tasks, nothing a container reaches.
_TASK_FIELDS = frozenset(
    {
        "ContainerSpec",
        "Resources",
        "RestartPolicy",
        "Placement",
        "ForceUpdate",
        "Runtime",
        "Networks",
        "LogDriver",
    }
)


def _unknown(fields, known, where: str) -> list[Problem]:
    return [
        Problem(f"The service sets {where}{name}, which the portal can't judge: refused.")
        for name in sorted(set(fields) - known)
    ]


def container_body(spec: dict) -> tuple[dict, list[Problem]]:
    """The create body of the container a task of `spec` would run, and the fields the
    mapping doesn't know (refused)."""
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    problems = _unknown(task, _TASK_FIELDS, "TaskTemplate.")
    problems += _unknown(container, _CONTAINED | set(_HOST_FIELDS) | {"Privileges"}, "")
    host: dict = {
        host_field: copy.deepcopy(container[spec_field])
        for spec_field, host_field in _HOST_FIELDS.items()
        if spec_field in container
    }
    privileges = container.get("Privileges") or {}
    problems += _unknown(privileges, {"SELinuxContext", "CredentialSpec"}, "Privileges.")
    if privileges.get("SELinuxContext") or privileges.get("CredentialSpec"):
        host["SecurityOpt"] = ["label=service-privileges"]  # judged as a security option
    if any(
        (network.get("Target") or "") == "host" for network in task.get("Networks") or ()
    ) or any((network.get("Target") or "") == "host" for network in spec.get("Networks") or ()):
        host["NetworkMode"] = "host"
    labels = {**(container.get("Labels") or {}), **(spec.get("Labels") or {})}
    body = {
        "Image": container.get("Image") or "",
        "Labels": labels,
        "Env": list(container.get("Env") or ()),
        "HostConfig": host,
    }
    return body, problems


def _portal_labels(spec: dict) -> dict[str, str]:
    labels = {**(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Labels") or {})}
    labels.update(spec.get("Labels") or {})
    return {k: v for k, v in labels.items() if k.startswith(PORTAL_LABEL_PREFIX)}


def check_service_create(user, spec: dict, *, portal_labels: dict[str, str]) -> CheckedService:
    """Judge a new service (its image must be on this engine: its labels are judged too).

    Raises Refused, and GatewayError when the engine can't answer what the policy must know.
    """
    from dockerweb import host_access  # through the package: what tests watch is what runs

    body, problems = container_body(spec)
    if problems:
        raise Refused(problems)
    host_access.check_create(user, body, name=spec.get("Name") or None, portal_labels=portal_labels)
    return CheckedService(copy.deepcopy(spec))


def check_service_change(user, current: dict, new: dict) -> CheckedService:
    """Judge the spec `new` that a service now running `current` would become.

    Raises Refused, GatewayError.
    """
    current_body, _ = container_body(current)
    held = [] if is_admin(user) else held_host_access(current_body)
    if held:
        raise Refused(
            [
                Problem(
                    "Only administrators can change this service: it has host access "
                    f"(it {'; it '.join(f.what for f in held)}); {ADMINS_ONLY}."
                )
            ]
        )
    return check_service_create(user, new, portal_labels=_portal_labels(current))
