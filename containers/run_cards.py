""" "New container": a search box and image cards, each with Create and Advanced.

The page searches as the user types (htmx) and with its Search button (no JS). Local cards
come with the page; the registries' and Docker Hub's are fragments of their own, each
loaded on its own, so a slow source never holds back the others. Create runs the image with
its defaults through run_service (the host-access policy judges it); an image not on the
engine is pulled first, as a job whose progress the card shows.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from containers import card_names, card_sources, pull_and_run, run_service
from containers.permissions import CREATE
from dockerweb import gateway, host_access
from dockerweb.engine_errors import report_engine_error
from dockerweb.gateway.types import RunSpec
from dockerweb.htmx import is_partial, render_page_or_partial
from dockerweb.references import reference_problem
from images.models import Registry

PAGE = "containers/new.html"


class RunImageForm(forms.Form):
    """A card's Create: the image reference, nothing else (the image's defaults)."""

    image = forms.CharField(label="Image", max_length=512)
    q = forms.CharField(required=False, max_length=card_sources.QUERY_MAX)

    def clean_image(self):
        image = self.cleaned_data["image"].strip()
        problem = reference_problem(image)
        if problem:
            raise ValidationError(problem)
        return image


def _query(request) -> str:
    return card_sources.clean_query(request.GET.get("q", ""))


def _page_context(request, query: str) -> dict:
    return {
        "query": query,
        "local": card_sources.local_cards(request, query),
        "may_pull": request.user.has_perm(pull_and_run.PULL),
        "has_registries": Registry.objects.exists(),
        # Filled by their own fragments (None: the page loads them after itself).
        "registries": None,
        "hub": None,
    }


@require_GET
@permission_required(CREATE, raise_exception=True)
def new_container(request):
    """The search box and the cards; htmx asks for the cards alone as the user types."""
    query = _query(request)
    return render_page_or_partial(
        request, PAGE, "containers/_cards.html", _page_context(request, query)
    )


@require_GET
@permission_required(CREATE, raise_exception=True)
def registry_cards(request):
    query = _query(request)
    context = {
        **_page_context(request, query),
        "registries": card_sources.registry_sections(query),
    }
    return render_page_or_partial(request, PAGE, "containers/_cards_registries.html", context)


@require_GET
@permission_required(CREATE, raise_exception=True)
def hub_cards(request):
    query = _query(request)
    context = {**_page_context(request, query), "hub": card_sources.hub_cards(request, query)}
    return render_page_or_partial(request, PAGE, "containers/_cards_hub.html", context)


@require_POST
@permission_required(CREATE, raise_exception=True)
def create_from_card(request):
    """Run the card's image with its defaults; pull it first (a job) when it isn't here."""
    form = RunImageForm(request.POST)
    if not form.is_valid():
        problem = " ".join(e for errors in form.errors.values() for e in errors)
        return _problem(request, form, problem)
    image = form.cleaned_data["image"]
    try:
        # The image's own defaults, with a terminal as Kitematic gives its containers: an
        # image whose command is a shell (busybox, alpine, ubuntu) keeps running.
        spec = RunSpec(image=image, name=card_names.free_name(image), tty=True)
        if gateway.images.image_exists(image):
            container_id = run_service.run(request.user, spec)
            messages.success(request, f"Started {spec.name or container_id[:12]} from {image}.")
            return _go(request, reverse("containers:logs", args=[container_id]))
        job = pull_and_run.start(request.user, spec)
    except (pull_and_run.PullRefused, host_access.Refused) as exc:
        return _problem(request, form, str(exc))
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return _problem(request, form, str(exc))
    except gateway.GatewayError as exc:
        return _problem(request, form, f"The engine refused: {exc}")
    if is_partial(request):
        return render(request, "containers/_card_job.html", {"job": job, "image": image})
    return redirect("jobs:detail", job.pk)


def _go(request, url: str):
    if is_partial(request):
        response = HttpResponse()
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _problem(request, form, message: str):
    """Why nothing was created: on the card (htmx), or at the top of the cards page."""
    if is_partial(request):
        return render(request, "containers/_card_problem.html", {"problem": message}, status=400)
    query = card_sources.clean_query(form.data.get("q", ""))
    context = {**_page_context(request, query), "card_problem": message}
    return render(request, PAGE, context, status=400)
