"""Changing images: tag, remove (or untag), prune dangling images. Each is audited."""

import re
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.records import record
from dockerweb import confirmed_prune, engines, gateway
from dockerweb.engine_errors import report_engine_error
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


# The engine's image ids: what the prune page lists and posts back.
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def _matches(image: gateway.images.ImageSummary, q: str) -> bool:
    """`q` starts the image's id or is part of one of its labels (key=value)."""
    labels = " ".join(f"{k}={v}" for k, v in image.labels.items()).lower()
    return image.id.removeprefix("sha256:").startswith(q.removeprefix("sha256:")) or q in labels


def _prunable(request, q: str) -> tuple[list[gateway.images.ImageSummary], int]:
    """The dangling images no container uses (those the engine would refuse) matching `q`,
    oldest first, at most CONFIRM_MAX, and how many such there are. One listing of the
    dangling images (the engine filters them); who uses them comes from the live model.

    Raises EngineUnavailable."""
    users = engines.live_for(request).usage_counts("image")
    q = q.lower()
    unused = [
        i
        for i in gateway.images.dangling_images()
        if not users.get(i.id) and (not q or _matches(i, q))
    ]
    unused.sort(key=lambda i: i.created)
    return unused[: confirmed_prune.CONFIRM_MAX], len(unused)


def _prune_confirmed(request, ids: list[str]) -> confirmed_prune.Outcome:
    """Remove each confirmed image that is still dangling and unused, one call each.
    Raises EngineUnavailable."""
    now = {i.id: i for i in gateway.images.dangling_images()}
    users = engines.live_for(request).usage_counts("image")

    def why_kept(image_id: str) -> str | None:
        if image_id in now:
            count = users.get(image_id, 0)
            return f"used by {count} container{'s' if count != 1 else ''}" if count else None
        try:
            tags = gateway.images.inspect_image(image_id).tags
        except gateway.NotFound:
            return ""
        return f"tagged {', '.join(tags)} now" if tags else "no longer dangling"

    return confirmed_prune.remove_each(
        ids,
        why_kept=why_kept,
        # By id, without force: the engine refuses one a container uses or an image is
        # built on, whatever happened since the check.
        remove=lambda image_id: gateway.images.remove_image(image_id),
        size=lambda image_id: now[image_id].size,
    )


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def prune(request):
    """GET: the dangling images that will go (at most CONFIRM_MAX) and their size, ticked;
    POST (their ids): remove those still dangling and unused, report what was removed,
    kept and why, and the space reclaimed."""
    if request.method == "POST":
        ids = confirmed_prune.confirmed_ids(request.POST.getlist("image"), _IMAGE_ID)
        if ids is None:
            messages.error(request, "Nothing pruned: choose dangling images on this page.")
            return redirect("images:prune")
        try:
            outcome = _prune_confirmed(request, ids)
        except gateway.GatewayError as exc:
            _audit(request, "image.prune", "dangling images", error=exc)
            messages.error(request, f"Could not prune dangling images: {exc}")
            return redirect("images:prune")
        summary = confirmed_prune.summary(outcome, "dangling image", label=_short)
        removed = ", ".join(outcome.removed)
        detail = f"{summary} Removed: {removed}." if removed else summary
        _audit(request, "image.prune", "dangling images", detail=detail)
        engines.current().refresh("image", "")  # the next page shows the result
        (messages.success if outcome.removed else messages.warning)(request, summary)
        return redirect("images:list")
    dangling, total_count = None, 0
    q = request.GET.get("q", "").strip()[:200]
    try:
        dangling, total_count = _prunable(request, q)
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
    context = {
        "q": q,
        "dangling": dangling,
        "total_count": total_count,
        "total": sum(i.size for i in dangling or ()),
    }
    return render(request, "images/prune.html", context)
