"""Running a new container: the one path from a run spec to a started container.

Build the complete create body, ask the host-access policy, create and start exactly what it
approved, record the outcome. The run form calls `run` directly; when the image must be
pulled first, `start_pull_and_run` makes that a job that pulls and then calls `run` — the
policy judges the body again once the image (and its labels) is on the engine.
"""

from audit.records import record
from dockerweb import engines, gateway, host_access
from dockerweb.gateway.types import CREATED_BY_LABEL, RunSpec
from dockerweb.host_access.binds import describe_binds
from images.work import pull_work
from jobs.runner import JobFailed, Reporter, start_job


def _portal_labels(user) -> dict[str, str]:
    return {CREATED_BY_LABEL: user.get_username()}


def _body(spec: RunSpec, user) -> dict:
    return gateway.containers.run_body(spec, labels={**spec.labels, **_portal_labels(user)})


def precheck(user, spec: RunSpec) -> None:
    """Judge what can be judged before the image is pulled (everything but its labels).

    Raises host_access.Refused, GatewayError.
    """
    host_access.check_create(
        user,
        _body(spec, user),
        name=spec.name or None,
        portal_labels=_portal_labels(user),
        image_present=False,
    )


def run(user, spec: RunSpec) -> str:
    """Judge, create and start the container `spec` describes; returns its id. Audited,
    whatever the outcome (a refusal too: it is an attempt at host access).

    Raises host_access.Refused and the gateway's errors (nothing is left half-created).
    """
    labels = {**spec.labels, **_portal_labels(user)}
    try:
        checked = host_access.check_create(
            user, _body(spec, user), name=spec.name or None, portal_labels=_portal_labels(user)
        )
        container_id = gateway.containers.run_checked(checked, volume_labels=labels)
    except (host_access.Refused, gateway.GatewayError) as exc:
        if not isinstance(exc, gateway.EngineUnavailable):
            _audit(user, "", spec, error=exc)
        raise
    _audit(user, container_id, spec, name=gateway.containers.engine_name(container_id, spec.name))
    engines.current().refresh("container", container_id)
    return container_id


def _audit(user, container_id: str, spec: RunSpec, *, name: str = "", error=None) -> None:
    record(
        user,
        "container.run",
        target_type="container",
        target_id=container_id,
        target_name=name or spec.name,
        detail=f"image {spec.image}{describe_binds(spec)}",
        error=error,
    )


def pull_and_run_work(spec: RunSpec, user):
    """A job's work: pull the run form's missing image, then run the container."""
    pull = pull_work(spec.image)

    def work(reporter: Reporter) -> dict:
        result = pull(reporter)
        reporter.line(f"Running a container from {spec.image}")
        try:
            container_id = run(user, spec)
        except (host_access.Refused, gateway.GatewayError) as exc:
            raise JobFailed(
                f"The image was pulled, but the container could not run: {exc}"
            ) from exc
        reporter.line(f"Started container {spec.name or container_id[:12]}")
        return {**result, "container": container_id}

    return work


def start_pull_and_run(spec: RunSpec, user):
    return start_job(
        kind="pull",
        title=f"Pull {spec.image} and run {spec.name or 'a container'}",
        params={"reference": spec.image, "then": "run", "name": spec.name},
        user=user,
        work=pull_and_run_work(spec, user),
    )
