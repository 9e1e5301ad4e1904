"""Pull and push: each starts a job and sends the browser to the job's page to watch it."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.records import record
from dockerweb import gateway
from dockerweb.references import IMAGE_ID_RE, reference_problem
from images import image_reach, work
from images.views import PULL, PUSH


class PullForm(forms.Form):
    image = forms.CharField(
        label="Image",
        max_length=512,
        help_text="name, name:tag, registry:port/namespace/name:tag or name@sha256:digest.",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )

    def clean_image(self):
        image = self.cleaned_data["image"].strip()
        problem = reference_problem(image)
        if problem:
            raise ValidationError(problem)
        if IMAGE_ID_RE.match(image):
            raise ValidationError("An image id can't be pulled: give a name, name:tag or digest.")
        return image


@require_http_methods(["GET", "POST"])
@permission_required(PULL, raise_exception=True)
def pull_image(request):
    """GET: the form; POST: start a pull job and watch it on the job's page."""
    form = PullForm(request.POST or None, initial={"image": request.GET.get("image", "")})
    if request.method == "POST" and form.is_valid():
        reference = form.cleaned_data["image"]
        problem = image_reach.pull_problem(request.user, reference)
        if problem:
            form.add_error("image", problem)
    if request.method == "POST" and form.is_valid():
        job = work.start_pull(reference, request.user)
        _audit(request, "image.pull", reference, job)
        return redirect("jobs:detail", job.pk)
    context = {"form": form}
    return render(request, "images/pull.html", context, status=400 if form.errors else 200)


@require_POST
@permission_required(PUSH, raise_exception=True)
def push_image(request, reference):
    """Start pushing a local image to the registry its name points at."""
    problem = reference_problem(reference)
    if problem or IMAGE_ID_RE.match(reference):
        messages.error(request, problem or "Push a name:tag, not an image id.")
        return redirect("images:list")
    problem = image_reach.pull_problem(request.user, reference)
    if problem:
        messages.error(request, f"Could not push {reference}: {problem}")
        return redirect("images:detail", reference)
    try:
        image = gateway.images.inspect_image(reference)
    except gateway.NotFound:
        messages.error(request, f"There is no image “{reference}” on this engine to push.")
        return redirect("images:list")
    except gateway.GatewayError as exc:
        messages.error(request, f"Could not push {reference}: {exc}")
        return redirect("images:list")
    job = work.start_push(reference, request.user)
    # The engine's id of what is pushed; the name is the reference pushed (a name:tag).
    _audit(request, "image.push", reference, job, target_id=image.id)
    return redirect("jobs:detail", job.pk)


def _audit(request, action: str, reference: str, job, *, target_id: str = "") -> None:
    record(
        request.user,
        action,
        target_type="image",
        target_id=target_id or reference,
        target_name=reference,
        detail=f"job {job.pk}",
    )
