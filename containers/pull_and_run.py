"""Starting the job that pulls a missing image and then runs it: the checks both the run
form and a card's Create make first (permission, the pull's reach, the policy on what can
be judged before the image is here), and the activity-trail entry for the pull."""

from audit.records import record
from containers import run_service
from dockerweb.gateway.types import RunSpec
from dockerweb.host_access.binds import describe_binds
from images import image_reach

PULL = "images.pull_image"
NOT_ALLOWED = "You are not allowed to pull images."


class PullRefused(Exception):
    """The pull may not start; `field` is the run form's field it is about."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def start(user, spec: RunSpec):
    """The started job. Raises PullRefused, host_access.Refused, GatewayError."""
    if not user.has_perm(PULL):
        raise PullRefused(NOT_ALLOWED, "pull_first")
    problem = image_reach.pull_problem(user, spec.image)
    if problem:
        raise PullRefused(problem, "image")
    run_service.precheck(user, spec)
    job = run_service.start_pull_and_run(spec, user)
    record(
        user,
        "image.pull",
        target_type="image",
        target_id=spec.image,
        target_name=spec.image,
        detail=f"to run {spec.name or 'a container'}: job {job.pk}{describe_binds(spec)}",
    )
    return job
