"""Changing images: tag, remove (or untag), prune dangling images. Each is audited."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.records import record
from dockerweb import engines, gateway
from dockerweb.engine_errors import report_engine_error
from dockerweb.sizes import human_size
from images.views import PUSH, REMOVE
from images.views.browse import (
    TagForm,
    containers_using,
    engine_name,
    inspect_or_404,
    render_detail,
    with_default_tag,
)


def _audit(request, action: str, reference: str, *, image=None, error=None, detail="") -> None:
    """`image`: the engine's answer for `reference`, whose id and name the entry carries;
    prunes, which have no one image, name what they pruned."""
    record(
        request.user,
        action,
        target_type="image",
        target_id=image.id if image else reference,
        target_name=engine_name(image, reference) if image else reference,
        detail=detail,
        error=error,
    )


@require_POST
@permission_required(PUSH, raise_exception=True)
def tag(request, reference):
    """Add a name:tag to an image (the form sits on the image's page)."""
    form = TagForm(request.POST)
    if not form.is_valid():
        return render_detail(request, reference, tag_form=form, status=400)
    image = inspect_or_404(request, reference)
    if image is None:
        return render_detail(request, reference, tag_form=form, status=503)
    new_reference = with_default_tag(form.cleaned_data["new_reference"])
    try:
        # By id: the image looked at, whatever `reference` names by now.
        gateway.images.tag_reference(image.id, new_reference)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return render_detail(request, reference, tag_form=form, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "image.tag", reference, image=image, error=exc, detail="")
        form.add_error("new_reference", f"The engine refused the tag: {exc}")
        return render_detail(request, reference, tag_form=form, status=400)
    _audit(request, "image.tag", reference, image=image, detail=f"tagged as {new_reference}")
    engines.current().refresh("image", "")  # the next page shows the result
    messages.success(request, f"Tagged {reference} as {new_reference}.")
    return redirect("images:detail", new_reference)


@dataclass(frozen=True)
class Removal:
    """What removing `reference` would do, worked out before asking."""

    reference: str
    image: gateway.images.ImageDetail
    users: list[str]  # containers (running or not) made from the image

    @property
    def by_tag(self) -> bool:
        return with_default_tag(self.reference) in self.image.tags

    @property
    def untag_only(self) -> bool:
        """The reference is one of several tags: only that tag goes, the image stays."""
        return self.by_tag and len(self.image.tags) > 1

    @property
    def other_tags(self) -> list[str]:
        name = with_default_tag(self.reference)
        return [t for t in self.image.tags if t != name]

    @property
    def in_use(self) -> bool:
        return bool(self.users) and not self.untag_only

    @property
    def needs_force(self) -> bool:
        """By id with several tags, or in use: the engine refuses unless forced."""
        return self.in_use or (not self.by_tag and len(self.image.tags) > 1)


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def remove(request, reference):
    """GET: say what will be lost and ask; POST: untag or remove, refused while in use."""
    image = inspect_or_404(request, reference)
    if image is None:
        return render(request, "images/remove.html", {"reference": reference})
    plan = Removal(reference, image, containers_using(request, image.id))
    context = {"reference": reference, "plan": plan, "image": image}
    if request.method == "GET":
        return render(request, "images/remove.html", context)

    force = request.POST.get("force") == "on"
    if plan.in_use and not force:
        problem = (
            f"{reference} is used by {_names(plan.users)}. Remove "
            f"{'that container' if len(plan.users) == 1 else 'those containers'} first, "
            "or tick Force."
        )
        _audit(request, "image.remove", reference, image=image, error=problem)
        return render(request, "images/remove.html", {**context, "problem": problem}, status=409)
    if plan.needs_force and not force:
        problem = (
            f"This image has {len(image.tags)} tags ({', '.join(image.tags)}): removing it by id "
            "removes them all. Tick Force to do that, or untag them one by one."
        )
        _audit(request, "image.remove", reference, image=image, error=problem)
        return render(request, "images/remove.html", {**context, "problem": problem}, status=409)
    try:
        removal = gateway.images.remove_image(reference, force=force)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return render(request, "images/remove.html", context, status=503)
    except gateway.GatewayError as exc:
        _audit(request, "image.remove", reference, image=image, error=exc)
        problem = f"The engine refused: {exc}"
        return render(request, "images/remove.html", {**context, "problem": problem}, status=409)
    summary = _removal_summary(removal, image)
    _audit(request, "image.remove", reference, image=image, detail=summary)
    engines.current().refresh("image", "")  # the next page shows the result
    messages.success(request, summary)
    if image.id in removal.deleted:
        return redirect("images:list")
    return redirect("images:detail", image.id)


def _names(users) -> str:
    more = getattr(users, "more", 0)
    return ", ".join(users) + (f" and {more} more" if more else "")


def _removal_summary(removal: gateway.images.RemovalResult, image) -> str:
    untagged, deleted = removal.untagged, removal.deleted
    parts = []
    if untagged:
        parts.append(f"Untagged {', '.join(untagged)}")
    if image.id in deleted:
        parts.append(
            f"deleted image {image.short_id} ({len(deleted)} image and layer record"
            f"{'s' if len(deleted) != 1 else ''})"
        )
    elif untagged:
        parts.append(f"image {image.short_id} kept")
    text = "; ".join(parts) or "Nothing to remove"
    return text[0].upper() + text[1:] + "."


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def prune(request):
    """GET: the dangling images that will go and their size; POST: prune and report."""
    if request.method == "POST":
        try:
            before = {i.id for i in gateway.images.dangling_images()}
            deleted, reclaimed = gateway.images.prune_dangling()
        except gateway.GatewayError as exc:
            _audit(request, "image.prune", "dangling images", error=exc)
            messages.error(request, f"Could not prune dangling images: {exc}")
            return redirect("images:prune")
        count = len(before & set(deleted))
        summary = (
            f"Pruned {count} dangling image{'s' if count != 1 else ''}: "
            f"{human_size(reclaimed)} reclaimed ({reclaimed} bytes)."
        )
        removed = ", ".join(sorted(before & set(deleted)))
        _audit(request, "image.prune", "dangling images", detail=f"{summary} {removed}".strip())
        engines.current().refresh("image", "")  # the next page shows the result
        messages.success(request, summary)
        return redirect("images:list")
    try:
        dangling = gateway.images.dangling_images()
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        dangling = None
    context = {
        "dangling": dangling,
        "total": sum(i.size for i in dangling or ()),
    }
    return render(request, "images/prune.html", context)
