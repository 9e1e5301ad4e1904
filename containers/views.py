"""Container pages: the table, a container's tabs, its lifecycle actions and the run form."""

import asyncio
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.records import record
from containers import pull_and_run, run_service
from containers.forms import RunContainerForm
from containers.permissions import CREATE, OPERATE, REMOVE, SEE_ENV, VIEW
from dockerweb import engines, gateway, host_access, notices
from dockerweb import sidebar as sidebar_window
from dockerweb.engine_errors import report_engine_error
from dockerweb.htmx import render_page_or_partial
from dockerweb.live_model import ContainerQuery, Page
from dockerweb.threads import ThreadedIterator

HIDDEN_VALUE = "(hidden)"


STATE_CHOICES = (
    ("", "All"),
    ("running", "Running"),
    ("paused", "Paused"),
    ("exited", "Exited"),
    ("created", "Created"),
)


def _inspect_or_404(request, container_id: str):
    """The container's details; None (with the banner) when the engine is down."""
    try:
        return gateway.containers.inspect_container(container_id)
    except gateway.NotFound:
        raise Http404(f"No container {container_id} on this engine.") from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        return None


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_list(request):
    """A window of the engine's containers: searched, filtered, sorted and paged on the
    server from the live model (no engine call, however many containers)."""
    query = ContainerQuery.from_params(request.GET)
    try:
        model = engines.live_for(request)
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        page = Page(rows=[], query=query, matched=0, total=0)
    else:
        page = model.containers_page(query)
    context = {
        "page": page,
        "state_choices": STATE_CHOICES,
        "usage_filters": [
            (name, value)
            for name, value in (
                ("image", query.image_id),
                ("volume", query.volume),
                ("network", query.network),
            )
            if value
        ],
        "usage_label": _usage_label(query),
    }
    return render_page_or_partial(
        request, "containers/list.html", "containers/_table.html", context
    )


def _usage_label(query: ContainerQuery) -> str:
    if query.image_id:
        return f"made from image {query.image_id.removeprefix('sha256:')[:12]}"
    if query.volume:
        return f"mounting volume {query.volume}"
    if query.network:
        return f"on network {query.network}"
    return ""


@require_GET
@permission_required(VIEW, raise_exception=True)
def sidebar(request):
    """The sidebar's window alone: its filter as you type, its pages, and its catch-up
    after the engine or the socket came back."""
    selected = request.GET.get("selected", "")
    context = {"sidebar": sidebar_window.build(request, request.GET, selected=selected)}
    response = render(request, "_sidebar.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def detail_page(request, container_id: str, tab: str, extra: dict | None = None):
    """One of a container's tabs (`containers/detail_<tab>.html`), with `extra` context."""
    container = _inspect_or_404(request, container_id)
    if container is not None:
        request.selected_container = container.id  # the sidebar keeps it in view
    context = {"container": container, "tab": tab, **(extra or {})}
    if container is not None and tab == "logs":
        context["log_tail"] = settings.LOG_TAIL_DEFAULT
    if container is not None and tab in ("overview", "inspect"):
        context.update(_env_visibility(request, container, tab))
    if container is not None and tab == "inspect":
        hide = None if context["show_env"] else HIDDEN_VALUE
        raw = gateway.containers.inspect_document(container, hide_env_as=hide)
        context["inspect_json"] = json.dumps(raw, indent=2, sort_keys=True)
    return render(request, f"containers/detail_{tab}.html", context)


def _env_visibility(request, container, tab: str) -> dict:
    """Environment values are secrets: sent only to those allowed who ask (`?show=env`),
    and every time they are, the activity trail says who read them."""
    may_see = request.user.has_perm(SEE_ENV)
    show = may_see and request.GET.get("show") == "env" and bool(container.env)
    if show:
        audit_env_read(request, container, f"the {tab.title()} tab")
    return {"may_see_env": may_see, "show_env": show}


def audit_env_read(request, container, where: str) -> None:
    """Record that `request.user` was sent the container's environment values."""
    record(
        request.user,
        "container.read_env",
        target_type="container",
        target_id=container.id,
        target_name=container.name,
        detail=f"environment values shown on {where}",
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_logs(request, container_id):
    return detail_page(request, container_id, "logs")


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_overview(request, container_id):
    return detail_page(request, container_id, "overview")


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_inspect(request, container_id):
    return detail_page(request, container_id, "inspect")


@require_GET
@permission_required(VIEW, raise_exception=True)
def container_header(request, container_id):
    """The name, state and action buttons, re-fetched when the container's state changes."""
    try:
        container = _inspect_or_404(request, container_id)
    except Http404:
        # Removed while the page was open. htmx swaps only 2xx answers: a 404 would leave
        # the old state and its buttons on screen.
        context = {"removed": True, "name": request.GET.get("name", container_id[:12])}
        return render(request, "containers/_header.html", context)
    return render(
        request,
        "containers/_header.html",
        {"container": container, "page_path": _page_path(request)},
    )


def _page_path(request) -> str:
    """The page an htmx fragment sits in: where its action buttons should come back to."""
    current = urlsplit(request.htmx.current_url or "") if request.htmx else None
    if current and current.path.startswith("/"):
        return current.path + (f"?{current.query}" if current.query else "")
    return reverse("containers:logs", args=[request.resolver_match.kwargs["container_id"]])


# Lifecycle actions: verb → (gateway call, past tense for the message).
ACTIONS = {
    "start": (gateway.containers.start, "Started"),
    "stop": (gateway.containers.stop, "Stopped"),
    "restart": (gateway.containers.restart, "Restarted"),
    "pause": (gateway.containers.pause, "Paused"),
    "unpause": (gateway.containers.unpause, "Resumed"),
    "kill": (gateway.containers.kill, "Killed"),
}


@require_POST
@permission_required(OPERATE, raise_exception=True)
def container_action(request, container_id, action):
    if action not in ACTIONS:
        raise Http404("No such action.")
    call, done = ACTIONS[action]
    # The trail names what the engine has, never what the browser says: look the container
    # up, act on its full id (a prefix or name could match another one by then).
    container = _inspect_or_404(request, container_id)
    if container is None:
        problem = _audit_unanswered(request, action, container_id)
        # The banner would be lost across the redirect: say it in the message.
        messages.error(request, f"Could not {action} {container_id[:12]}: {problem}")
        return redirect(_back(request, container_id))
    name = container.name
    # Stop and restart wait the container's own grace period, as `docker stop` does: the
    # button's "Stopping…" says how long that is.
    timeout = {"timeout": container.stop_timeout} if action in ("stop", "restart") else {}
    try:
        call(container.id, **timeout)
    except gateway.GatewayError as exc:
        _audit(request, action, container.id, name, error=exc)
        messages.error(request, f"Could not {action} {name}: {exc}")
    else:
        _audit(request, action, container.id, name)
        notices.announce(request.user, action, kind="container", object_id=container.id, name=name)
        messages.success(request, f"{done} {name}.")
    # The page we go back to shows the engine's answer, not the model's last event.
    engines.current().refresh("container", container.id)
    return redirect(_back(request, container_id))


def _audit(request, action: str, container_id: str, name: str, *, error=None, detail=""):
    record(
        request.user,
        f"container.{action}",
        target_type="container",
        target_id=container_id,
        target_name=name,
        detail=detail,
        error=error,
    )


def _audit_unanswered(request, action: str, container_id: str) -> str:
    """Record an attempt the engine could not answer: the container as the URL addressed
    it, with no name, since only the engine could say which one that is."""
    problem = getattr(request, "engine_problem", None) or "the engine did not answer"
    _audit(request, action, container_id, "", error=problem, detail="as addressed")
    return str(problem)


def _back(request, container_id: str) -> str:
    """Where an action returns to: the page it was made from, if it is one of ours."""
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return reverse("containers:logs", args=[container_id])


@require_http_methods(["GET", "POST"])
@permission_required(REMOVE, raise_exception=True)
def container_remove(request, container_id):
    """GET: say what will be lost and ask; POST: remove."""
    container = _inspect_or_404(request, container_id)
    if request.method == "POST" and container is None:
        _audit_unanswered(request, "remove", container_id)
    if request.method == "POST" and container is not None:
        remove_volumes = request.POST.get("remove_volumes") == "on"
        name = container.name
        try:
            gateway.containers.remove(container.id, force=True, volumes=remove_volumes)
        except gateway.GatewayError as exc:
            _audit(request, "remove", container.id, name, error=exc)
            messages.error(request, f"Could not remove {name}: {exc}")
            return redirect("containers:remove", container_id)
        detail = "with its anonymous volumes" if remove_volumes else ""
        _audit(request, "remove", container.id, name, detail=detail)
        notices.announce(
            request.user, "remove", kind="container", object_id=container.id, name=name
        )
        engines.current().refresh("container", container.id)
        messages.success(request, f"Removed {name}.")
        return redirect("containers:list")
    context = {"container": container}
    if container is not None:
        request.selected_container = container.id
        context["anonymous_volumes"] = [m for m in container.mounts if m.anonymous]
    return render(request, "containers/remove.html", context)


@require_http_methods(["GET", "POST"])
@permission_required(CREATE, raise_exception=True)
def container_run(request):
    """The full "New container" form (Advanced, from a card or the image pages)."""
    form = RunContainerForm(
        request.POST or None, initial={"image": request.GET.get("image", "")}, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            if form.check_against_engine() and form.needs_pull:
                job = _pull_then_run(request, form)
                if job is not None:
                    return redirect("jobs:detail", job.pk)
            if not form.errors:
                spec = form.run_spec()
                container_id = run_service.run(request.user, spec)
                messages.success(
                    request, f"Started {spec.name or container_id[:12]} from {spec.image}."
                )
                return redirect("containers:logs", container_id)
        except host_access.Refused as exc:
            exc.add_to(form)
        except gateway.EngineUnavailable as exc:
            report_engine_error(request, exc)
            form.add_error(None, str(exc))
        except gateway.GatewayError as exc:
            form.add_engine_error(exc)
    try:
        images = engines.live_for(request).images()
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        images = []
    local_images = sorted({tag for image in images for tag in image.tags})
    context = {"form": form, "local_images": local_images}
    return render(request, "containers/run.html", context, status=200 if not form.errors else 400)


def _pull_then_run(request, form: RunContainerForm):
    """Start the job that pulls the form's missing image and then runs it; None (with the
    form's errors) when it may not. Raises host_access.Refused, GatewayError."""
    try:
        return pull_and_run.start(request.user, form.run_spec())
    except pull_and_run.PullRefused as exc:
        form.add_error(exc.field, str(exc))
        return None


@require_GET
@permission_required(VIEW, raise_exception=True)
def logs_download(request, container_id):
    """The whole log as a text file, streamed (never held in memory)."""
    container = _inspect_or_404(request, container_id)
    if container is None:
        return redirect("containers:logs", container_id)
    timestamps = request.GET.get("timestamps") == "1"
    try:
        stream = gateway.logs.open_log_stream(
            container.id, tail=None, follow=False, timestamps=timestamps, tty=container.tty
        )
    except gateway.GatewayError as exc:
        messages.error(request, f"Could not read the log: {exc}")
        return redirect("containers:logs", container_id)

    async def body():
        lines = ThreadedIterator(
            stream.text(), stream.close, name=f"log-download-{container.short_id}"
        )
        try:
            async for _stream, text in lines:
                yield text.encode()
        finally:
            lines.close()
            await asyncio.to_thread(lines.thread.join, 5)

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    filename = get_valid_filename(f"{container.name}-{stamp}.log")
    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
