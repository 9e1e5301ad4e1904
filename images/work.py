"""The work of image jobs (pull, push, build), run in job threads by jobs.runner.

Each function takes the job's Reporter and returns the job's result, or raises
GatewayError/JobFailed with the engine's reason.
"""

import io
from collections.abc import Callable

from audit.records import record
from containers.bind_policy import describe_binds
from dockerweb import gateway
from dockerweb.gateway.types import RunSpec
from images.progress import LayerProgress
from images.registries import auth_for
from jobs.runner import JobFailed, Reporter, start_job


def _follow(stream: gateway.images.ProgressStream, reporter: Reporter) -> LayerProgress:
    progress = LayerProgress()
    try:
        for event in stream:
            progress.feed(event)
            if event.status and not event.id:
                reporter.line(event.status)
            reporter.progress(progress.snapshot())
    finally:
        stream.close()
    return progress


def pull_work(reference: str) -> Callable[[Reporter], dict]:
    def work(reporter: Reporter) -> dict:
        reporter.line(f"Pulling {reference}")
        progress = _follow(gateway.images.pull(reference, auth=auth_for(reference)), reporter)
        progress.finish()
        reporter.progress(progress.snapshot())
        return {"image": gateway.images.image_id(reference), "reference": reference}

    return work


def push_work(reference: str) -> Callable[[Reporter], dict]:
    def work(reporter: Reporter) -> dict:
        reporter.line(f"Pushing {reference}")
        progress = _follow(gateway.images.push(reference, auth=auth_for(reference)), reporter)
        progress.finish()
        reporter.progress(progress.snapshot())
        return {"image": gateway.images.image_id(reference), "reference": reference}

    return work


def build_work(
    context: bytes,
    *,
    tags: list[str],
    dockerfile: str,
    buildargs: dict,
    nocache: bool,
    gzip: bool,
    labels: dict[str, str] | None = None,
) -> Callable[[Reporter], dict]:
    def work(reporter: Reporter) -> dict:
        stream = gateway.images.build(
            io.BytesIO(context),
            tags=tags,
            dockerfile=dockerfile,
            buildargs=buildargs,
            nocache=nocache,
            gzip=gzip,
            labels=labels,
        )
        image_id = ""
        partial = ""
        step = ""  # the step running when an error comes: the classic builder's "Step 2/3 : …"
        try:
            for event in stream:
                if event.image_id:
                    image_id = event.image_id
                if event.text:
                    # Build output arrives in pieces; report whole lines.
                    partial += event.text
                    *lines, partial = partial.split("\n")
                    for line in lines:
                        if line.startswith("Step "):
                            step = line
                        reporter.line(line)
        except gateway.EngineError as exc:
            if partial:
                reporter.line(partial)
            reporter.line(f"Error: {exc}")
            where = f" at {step}" if step else ""
            raise JobFailed(f"The build failed{where}: {exc}") from exc
        finally:
            stream.close()
        if partial:
            reporter.line(partial)
        if not image_id:
            raise JobFailed("The engine ended the build without producing an image.")
        for extra in tags[1:]:
            gateway.images.tag_reference(image_id, extra)
        return {"image": image_id, "reference": tags[0] if tags else image_id, "tags": tags}

    return work


def start_pull(reference: str, user):
    return start_job(
        kind="pull",
        title=f"Pull {reference}",
        params={"reference": reference},
        user=user,
        work=pull_work(reference),
    )


def start_push(reference: str, user):
    return start_job(
        kind="push",
        title=f"Push {reference}",
        params={"reference": reference},
        user=user,
        work=push_work(reference),
    )


def pull_and_run_work(spec: RunSpec, user) -> Callable[[Reporter], dict]:
    """Pull the run form's missing image, then run the container the form asked for."""
    pull = pull_work(spec.image)

    def work(reporter: Reporter) -> dict:
        result = pull(reporter)
        reporter.line(f"Running a container from {spec.image}")
        try:
            container_id = gateway.containers.run_container(
                spec, extra_labels={"dockerweb.created-by": getattr(user, "username", "")}
            )
        except gateway.GatewayError as exc:
            record(
                user,
                "container.run",
                target_type="container",
                target_name=spec.name,
                error=exc,
            )
            raise JobFailed(
                f"The image was pulled, but the container could not run: {exc}"
            ) from exc
        name = gateway.containers.engine_name(container_id, spec.name)
        record(
            user,
            "container.run",
            target_type="container",
            target_id=container_id,
            target_name=name,
            detail=f"image {spec.image}{describe_binds(spec)}",
        )
        reporter.line(f"Started container {name or container_id[:12]}")
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
