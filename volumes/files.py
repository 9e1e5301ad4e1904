"""The volume file browser: folders, small text files, downloads, uploads (admins).

Volume files hold databases and keys: reading them takes the permission of its own
(volumes.read_volume_files), and every listing, view and download is in the activity trail.

Everything goes through dockerweb.gateway.volume_files: never-started helper containers and
the engine's archive API, so no container runs and no host path is ever touched.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, urlencode
from django.views.decorators.http import require_GET, require_POST

from dockerweb import gateway
from dockerweb.engine_errors import report_engine_error
from volumes.views import READ_FILES, VIEW, _audit

files = gateway.volume_files


def _crumbs(path: str) -> list[tuple[str, str]]:
    """(name, path) for each folder from the root down to `path`."""
    crumbs = []
    parts = path.split("/") if path else []
    for index, part in enumerate(parts):
        crumbs.append((part, "/".join(parts[: index + 1])))
    return crumbs


def files_url(volume_name: str, path: str = "") -> str:
    url = reverse("volumes:files", args=[volume_name])
    return f"{url}?{urlencode({'path': path})}" if path else url


def _problem_page(request, volume_name, exc):
    """The browser page with the error: 400 for a refused request, 503 for the engine."""
    context = {"volume_name": volume_name, "path": "", "crumbs": []}
    if isinstance(exc, gateway.InvalidRequest):
        context["problem"] = str(exc)
        return render(request, "volumes/files.html", context, status=400)
    report_engine_error(request, exc)
    return render(request, "volumes/files.html", context, status=503)


@require_GET
@permission_required([VIEW, READ_FILES], raise_exception=True)
def browse(request, volume_name):
    """A folder's entries, or a file's page (its text when small, else why not)."""
    context = {
        "volume_name": volume_name,
        "path": "",
        "crumbs": [],
        "can_upload": request.user.is_superuser,
        "text_limit": files.TEXT_LIMIT,
    }
    status = 200
    try:
        path = files.clean_path(request.GET.get("path"))
        context.update({"path": path, "crumbs": _crumbs(path), "parent": files.parent_path(path)})
        entry, listing = files.list_directory(volume_name, path)
        context.update({"entry": entry, "listing": listing})
        if listing is None:
            context["file"] = files.read_text(volume_name, path)
            _audit(request, "volume.read_file", volume_name, detail=f"/{path}")
        else:
            _audit(request, "volume.browse", volume_name, detail=f"/{path}")
    except gateway.InvalidRequest as exc:
        context["problem"] = str(exc)
        status = 400
    except gateway.NotFound as exc:
        raise Http404(str(exc)) from None
    except gateway.GatewayError as exc:
        report_engine_error(request, exc)
        status = 503
    template = "volumes/files.html" if "file" not in context else "volumes/file.html"
    return render(request, template, context, status=status)


@require_GET
@permission_required([VIEW, READ_FILES], raise_exception=True)
def download(request, volume_name):
    """A file's bytes, or a folder as a tar, streamed straight from the engine."""
    raw = request.GET.get("path")
    try:
        path = files.clean_path(raw)
        found = files.open_download(volume_name, path)
    except gateway.NotFound as exc:
        raise Http404(str(exc)) from None
    except gateway.GatewayError as exc:
        _audit(request, "volume.download", volume_name, error=exc)
        return _problem_page(request, volume_name, exc)
    _audit(request, "volume.download", volume_name, detail=f"/{path} as {found.filename}")
    response = StreamingHttpResponse(found.chunks, content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.filename)
    if found.size is not None:
        response["Content-Length"] = str(found.size)
    return response


@require_POST
@permission_required(VIEW, raise_exception=True)
def upload(request, volume_name):
    """Admins only: put one file into a folder of the volume."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only administrators can upload into volumes.")
    raw = request.POST.get("path", "")
    uploaded = request.FILES.get("file")
    try:
        path = files.clean_path(raw)
        if uploaded is None:
            raise gateway.InvalidRequest("Choose a file to upload.")
        if uploaded.size > settings.BUILD_UPLOAD_LIMIT:
            raise gateway.InvalidRequest(
                f"The file is bigger than the upload limit ({settings.BUILD_UPLOAD_LIMIT} bytes)."
            )
        written = files.upload_file(volume_name, path, uploaded.name, uploaded, uploaded.size)
    except gateway.NotFound as exc:
        raise Http404(str(exc)) from None
    except gateway.GatewayError as exc:
        _audit(request, "volume.upload", volume_name, error=exc)
        return _problem_page(request, volume_name, exc)
    _audit(request, "volume.upload", volume_name, detail=f"/{written} ({uploaded.size} bytes)")
    messages.success(request, f"Uploaded /{written} ({uploaded.size} bytes).")
    return redirect(files_url(volume_name, path))
