"""Changing swarm services: the one path from a user's request to the engine.

Each change builds the complete spec the service will have, asks the host-access policy
whether this user may have exactly that (dockerweb.host_access.check_service_*), sends the
CheckedService it answers, and records the outcome in the activity trail — a refusal too.
"""

from audit.records import record
from dockerweb import gateway, host_access
from dockerweb.gateway.swarm_types import NewService
from dockerweb.gateway.types import CREATED_BY_LABEL

Failure = (host_access.Refused, gateway.GatewayError)


def _audit(user, action: str, service_id: str, name: str, *, detail="", error=None) -> None:
    if isinstance(error, gateway.EngineUnavailable):
        return  # nothing was asked of the engine: no attempt to record
    record(
        user,
        action,
        target_type="service",
        target_id=service_id,
        target_name=name,
        detail=detail,
        error=error,
    )


def _detail(new: NewService) -> str:
    parts = [f"image {new.image}", f"{new.replicas} replica{'s' if new.replicas != 1 else ''}"]
    binds = [f"{m.source}→{m.target}" for m in new.mounts if m.kind == "bind"]
    if binds:
        parts.append(f"bind mounts (host access): {', '.join(binds)}")
    return ", ".join(parts)


def create(user, new: NewService) -> str:
    """Judge and create the service `new` describes; its id.

    Raises host_access.Refused and the gateway's errors (nothing is created then).
    """
    portal_labels = {CREATED_BY_LABEL: user.get_username()}
    spec = gateway.swarm.new_service_spec(new, labels=portal_labels)
    try:
        checked = host_access.check_service_create(user, spec, portal_labels=portal_labels)
        service_id = gateway.swarm.create_service(checked)
    except Failure as exc:
        _audit(user, "service.create", "", new.name, detail=_detail(new), error=exc)
        raise
    _audit(user, "service.create", service_id, new.name, detail=_detail(new))
    return service_id


def _change(user, action: str, service_id: str, make_spec, detail: str) -> str:
    """Judge and apply `make_spec(current spec)`; the service's name."""
    name = service_id
    try:
        specs = gateway.swarm.service_specs(service_id)
        name = specs.name
        checked = host_access.check_service_change(user, specs.current, make_spec(specs.current))
        gateway.swarm.update_service(specs.id, specs.version, checked)
    except Failure as exc:
        _audit(user, action, service_id, name, detail=detail, error=exc)
        raise
    _audit(user, action, specs.id, name, detail=detail)
    return name


def scale(user, service_id: str, replicas: int) -> str:
    """Raises host_access.Refused, GatewayError."""
    return _change(
        user,
        "service.scale",
        service_id,
        lambda spec: gateway.swarm.scaled_spec(spec, replicas),
        f"{replicas} replicas",
    )


def update_image(user, service_id: str, image: str) -> str:
    """A rolling update to `image`. Raises host_access.Refused, GatewayError."""
    return _change(
        user,
        "service.update",
        service_id,
        lambda spec: gateway.swarm.spec_with_image(spec, image),
        f"image {image}",
    )


def roll_back(user, service_id: str) -> str:
    """Back to the spec before the last change (the engine's rollback); the policy judges
    that spec as it judges an update to it. Raises host_access.Refused, GatewayError."""
    name = service_id
    detail = "to the previous version"
    try:
        specs = gateway.swarm.service_specs(service_id)
        name = specs.name
        if specs.previous is None:
            raise gateway.InvalidRequest(f"The service {name} has no previous version.")
        detail = f"to image {specs.previous_image}"
        checked = host_access.check_service_change(user, specs.current, specs.previous)
        gateway.swarm.roll_back_service(specs.id, specs.version, checked)
    except Failure as exc:
        _audit(user, "service.rollback", service_id, name, detail=detail, error=exc)
        raise
    _audit(user, "service.rollback", specs.id, name, detail=detail)
    return name


def remove(user, service_id: str) -> str:
    """Raises GatewayError."""
    name = service_id
    try:
        service = gateway.swarm.service(service_id)
        name = service.name
        gateway.swarm.remove_service(service.id)
    except gateway.GatewayError as exc:
        _audit(user, "service.remove", service_id, name, error=exc)
        raise
    _audit(user, "service.remove", service.id, name, detail=f"image {service.image}")
    return name
