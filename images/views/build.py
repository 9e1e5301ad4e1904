"""Build: `docker build -t name:tag` from a typed Dockerfile or an uploaded context, as a job."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.records import record
from images.forms import BuildForm
from images.views import BUILD
from images.work import build_work
from jobs.runner import start_job

BUILT_BY_LABEL = "dockerweb.built-by"


@require_http_methods(["GET", "POST"])
@permission_required(BUILD, raise_exception=True)
def build_image(request):
    """GET: the form; POST: start a build job and watch its output on the job's page."""
    if request.method == "POST":
        form = BuildForm(request.POST, request.FILES, user=request.user)
    else:
        form = BuildForm(user=request.user)
    if request.method == "POST" and form.is_valid():
        job = _start(request, form)
        return redirect("jobs:detail", job.pk)
    context = {"form": form}
    return render(request, "images/build.html", context, status=400 if form.errors else 200)


def _start(request, form: BuildForm):
    data = form.cleaned_data
    tags, dockerfile = data["tags"], data["dockerfile"]
    buildargs, nocache = data["buildargs"], data["nocache"]
    upload = data.get("context")
    source = f"upload {upload.name}" if upload else "typed Dockerfile"
    job = start_job(
        kind="build",
        title=f"Build {tags[0]}",
        params={
            "tags": tags,
            "dockerfile": dockerfile,
            "nocache": nocache,
            # Build arguments may carry secrets: only their names are kept.
            "buildargs": sorted(buildargs),
            "source": source,
        },
        user=request.user,
        work=build_work(
            form.build_context.data,
            tags=tags,
            dockerfile=dockerfile,
            buildargs=buildargs,
            nocache=nocache,
            gzip=form.build_context.gzip,
            labels={BUILT_BY_LABEL: request.user.get_username()},
        ),
    )
    record(
        request.user,
        "image.build",
        target_type="image",
        target_id=tags[0],
        target_name=", ".join(tags),
        detail=f"job {job.pk}; {source}",
    )
    return job
