"""Browsing images: the list (one row per tag), an image's detail page, Docker Hub search."""

import json
from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dockerweb import engines, gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import render_page_or_partial
from dockerweb.references import IMAGE_ID_RE, reference_problem
from images import image_filters
from images.lineage import lineage_of, steps
from images.views import VIEW

HUB_QUERY_MAX = 200


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One line of the list: a `repository:tag` of an image, or an untagged image."""

    image: gateway.images.ImageSummary
    repository: str
    tag: str
    containers: int

    @property
    def reference(self) -> str:
        """What the row's links address: the tag, or the id of an untagged image."""
        return f"{self.repository}:{self.tag}" if self.tag else self.image.id

    @property
    def dangling(self) -> bool:
        return not self.tag

    @property
    def search_text(self) -> str:
        name = self.reference if self.tag else "<none>:<none> dangling untagged"
        return f"{name} {self.image.short_id}".lower()


def image_rows(images, usage: dict[str, int]) -> list[ImageRow]:
    rows = []
    for image in images:
        count = usage.get(image.id, 0)
        if image.dangling:
            rows.append(ImageRow(image, "<none>", "", count))
        for tag in sorted(image.tags):
            repository, _, name = tag.rpartition(":")
            rows.append(ImageRow(image, repository, name, count))
    return rows


@require_GET
@permission_required(VIEW, raise_exception=True)
def image_list(request):
    query = request.GET.get("q", "").strip()
    show = image_filters.chosen(request.GET)
    try:
        model = engines.live_for(request)
        images, usage = model.images(), model.usage_counts("image")
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        images, usage = [], {}
    rows = image_rows(image_filters.keep(images, usage, show), usage)
    if query:
        needle = query.lower()
        rows = [row for row in rows if needle in row.search_text]
    context = {
        "rows": rows,
        "query": query,
        "show": show,
        "filter_choices": image_filters.choices(images, usage),
        "filter_param": image_filters.PARAM,
    }
    return render_page_or_partial(request, "images/list.html", "images/_window.html", context)


class TagForm(forms.Form):
    new_reference = forms.CharField(
        label="New name:tag",
        max_length=512,
        help_text="name:tag or registry:port/namespace/name:tag (the tag defaults to latest).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "name:tag"}),
    )

    def clean_new_reference(self):
        value = self.cleaned_data["new_reference"].strip()
        problem = reference_problem(value)
        if problem:
            raise ValidationError(problem)
        if IMAGE_ID_RE.match(value) or "@" in value:
            raise ValidationError("A tag is a name:tag, not an image id or digest.")
        return value


def with_default_tag(reference: str) -> str:
    """`name` → `name:latest`, as the engine reads it; ids, digests and name:tag unchanged."""
    if IMAGE_ID_RE.match(reference) or "@" in reference:
        return reference
    last = reference.rsplit("/", 1)[-1]
    return reference if ":" in last else f"{reference}:latest"


def engine_name(image, reference: str) -> str:
    """How the engine names the image a URL addressed, for the trail: the tag itself when
    `reference` is one of its tags, else all its tags (its short id when it has none)."""
    tag = with_default_tag(reference)
    if tag in image.tags:
        return tag
    return ", ".join(image.tags) or image.short_id


def run_reference(image, reference: str) -> str:
    """What "Run" fills in: the tag the page was opened by, else the image's first tag; the
    id only for an image with no tag at all (a container run by id shows as `sha256:…` in
    the portal and as a bare id in `docker ps`)."""
    tag = with_default_tag(reference)
    if tag in image.tags:
        return tag
    return image.tags[0] if image.tags else image.id


def inspect_or_404(request, reference: str):
    """The image's details; None (with the banner) when the engine is down."""
    try:
        return gateway.images.inspect_image(reference)
    except gateway.NotFound:
        raise Http404(f"No image {reference} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return None


# A page names this many of an image's containers; the rest are a link to the filtered list.
USERS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Users:
    """Who uses an image: the first names (by name) and how many in all."""

    image_id: str
    names: list[str]
    total: int

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return self.total

    @property
    def more(self) -> int:
        return self.total - len(self.names)


def containers_using(request, image_id: str) -> Users:
    try:
        users, total = engines.live_for(request).usage("image", image_id, limit=USERS_SHOWN)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return Users(image_id, [], 0)
    return Users(image_id, [c.name for c in users], total)


def parent_chain(request, image):
    try:
        model = engines.live_for(request)
    except gateway.EngineUnavailable:
        model = None  # the inspect just worked: walk the chain with the engine alone
    return lineage_of(image, model)


def render_detail(request, reference: str, *, tag_form: TagForm | None = None, status=200):
    image = inspect_or_404(request, reference)
    context = {"reference": reference, "image": image}
    if image is not None:
        context.update(
            lineage=parent_chain(request, image),
            steps=steps(image.history),
            tag_form=tag_form or TagForm(),
            containers=containers_using(request, image.id),
            inspect_json=json.dumps(image.raw, indent=2, sort_keys=True),
            is_tag=with_default_tag(reference) in image.tags,
            run_reference=run_reference(image, reference),
        )
    return render(request, "images/detail.html", context, status=status)


@require_GET
@permission_required(VIEW, raise_exception=True)
def image_detail(request, reference):
    return render_detail(request, reference)


@require_GET
@permission_required(VIEW, raise_exception=True)
def search_hub(request):
    """Docker Hub search, through the engine (which may have no way out to the Hub)."""
    query = request.GET.get("q", "").strip()[:HUB_QUERY_MAX]
    context = {"query": query, "results": None, "hub_problem": ""}
    if query:
        try:
            context["results"] = gateway.images.search_hub(query)
        except gateway.EngineUnavailable as exc:
            # A slow Hub looks like a slow engine; tell them apart by asking the engine.
            try:
                gateway.events.ping()
            except gateway.GatewayError:
                report_engine_error(request, exc)
            else:
                context["hub_problem"] = exc.reason
        except gateway.GatewayError as exc:
            context["hub_problem"] = str(exc)
    return render(request, "images/search.html", context)
