"""Files inside a volume, through the engine's archive API; no agent, no container started.

The portal imports its own tiny helper image once (one empty directory, no programs). For
each request it creates a helper container from it with the volume mounted at /v — never
started — reads or writes through GET/PUT /containers/{id}/archive, and removes it again.
Paths given to this module are relative to the volume root; `clean_path` refuses `..`.
"""

import base64
import contextlib
import io
import json
import stat as stat_module
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import docker.errors
from docker.types import Mount

from . import raw_http
from .client import api, translate, translate_errors
from .errors import InvalidRequest, NotFound
from .portal_helpers import new_helper
from .types import parse_engine_time

HELPER_IMAGE = "dockerweb/volume-helper:1"
HELPER_COMMAND = ["/none"]  # never run: the image holds no programs
MOUNT_POINT = "/v"

LIST_LIMIT = 1000  # entries shown for one directory
SCAN_LIMIT = 20_000  # tar members read (nested ones too) before a listing stops
SCAN_BYTES = 64 * 1024 * 1024  # tar bytes read (file data of nested files too) before it stops
TEXT_LIMIT = 256 * 1024  # bytes of a file shown as text
NAME_MAX, PATH_MAX = 255, 4096
CHUNK = 64 * 1024

# Go's os.FileMode bits in the engine's path stat header.
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27

_image_lock = threading.Lock()


# -- paths ------------------------------------------------------------------------------------


def clean_path(path: str | None) -> str:
    """`path` as a relative POSIX path inside the volume ("" is the root).

    Leading slashes and `.` pieces are dropped. Raises InvalidRequest for `..` or NUL.
    """
    text = (path or "").replace("\\", "/")
    if "\x00" in text:
        raise InvalidRequest("A path can't contain a NUL character.")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidRequest(
            "Paths with '..' are not allowed: the browser stays inside the volume."
        )
    # Linux's limits, checked here so the engine is never asked for a name it can't have.
    if any(len(part.encode()) > NAME_MAX for part in parts):
        raise InvalidRequest(f"A file or folder name is at most {NAME_MAX} bytes.")
    if len(text.encode()) > PATH_MAX:
        raise InvalidRequest(f"A path is at most {PATH_MAX} bytes.")
    return "/".join(parts)


def clean_filename(name: str | None) -> str:
    """A file name for an upload: one path piece. Raises InvalidRequest."""
    text = (name or "").strip()
    if not text or text in (".", "..") or "/" in text or "\\" in text or "\x00" in text:
        raise InvalidRequest(f"{text[:80]!r} is not a usable file name.")
    if len(text.encode()) > NAME_MAX:
        raise InvalidRequest(f"A file name is at most {NAME_MAX} bytes.")
    return text


def parent_path(path: str) -> str:
    return path.rpartition("/")[0]


def _engine_path(path: str) -> str:
    return f"{MOUNT_POINT}/{path}" if path else MOUNT_POINT


# -- entries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One file, directory or link; `path` is relative to the volume root."""

    path: str
    kind: str  # "dir", "file", "link" or "other"
    size: int
    mode: int  # st_mode style: type bits + permission bits
    modified: datetime | None
    link_target: str = ""

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"

    @property
    def mode_text(self) -> str:
        """Like `ls -l`: drwxr-xr-x."""
        return stat_module.filemode(self.mode)


@dataclass(frozen=True, slots=True)
class Listing:
    path: str
    entries: list[Entry]
    truncated: bool  # the listing stopped at a limit; more entries may exist
    limit: int


def _entry_from_stat(path: str, info: dict) -> Entry:
    go_mode = int(info.get("mode", 0))
    permissions = go_mode & 0o7777
    if go_mode & _GO_DIR:
        kind, type_bits = "dir", stat_module.S_IFDIR
    elif go_mode & _GO_SYMLINK:
        kind, type_bits = "link", stat_module.S_IFLNK
    elif go_mode & 0xFFFF_F000:
        kind, type_bits = "other", 0
    else:
        kind, type_bits = "file", stat_module.S_IFREG
    return Entry(
        path=path,
        kind=kind,
        size=int(info.get("size", 0)),
        mode=type_bits | permissions,
        modified=parse_engine_time(info.get("mtime")),
        link_target=info.get("linkTarget", ""),
    )


def _entry_from_member(path: str, member: tarfile.TarInfo) -> Entry:
    if member.isdir():
        kind, type_bits = "dir", stat_module.S_IFDIR
    elif member.issym() or member.islnk():
        kind, type_bits = "link", stat_module.S_IFLNK
    elif member.isreg():
        kind, type_bits = "file", stat_module.S_IFREG
    else:
        kind, type_bits = "other", 0
    return Entry(
        path=path,
        kind=kind,
        size=member.size if kind == "file" else 0,
        mode=type_bits | (member.mode & 0o7777),
        modified=datetime.fromtimestamp(member.mtime, tz=UTC) if member.mtime else None,
        link_target=member.linkname,
    )


# -- the helper image and container -------------------------------------------------------------


def _helper_image_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(MOUNT_POINT.lstrip("/"))
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        archive.addfile(info)
    return buffer.getvalue()


def ensure_helper_image() -> str:
    """The helper image's reference, importing it first if the engine lacks it."""
    with _image_lock, translate_errors():
        client = api()
        try:
            client.inspect_image(HELPER_IMAGE)
        except docker.errors.NotFound:
            repository, _, tag = HELPER_IMAGE.rpartition(":")
            client.import_image_from_data(_helper_image_tar(), repository=repository, tag=tag)
    return HELPER_IMAGE


def _check_volume(volume: str) -> None:
    # Creating a container with a missing named volume would create the volume: look first.
    with translate_errors():
        try:
            api().inspect_volume(volume)
        except docker.errors.NotFound:
            raise NotFound(f"No volume {volume} on this engine.") from None


def _create_helper(volume: str, *, read_only: bool) -> str:
    _check_volume(volume)
    image = ensure_helper_image()
    name, labels = new_helper()
    with translate_errors():
        client = api()
        host_config = client.create_host_config(
            mounts=[Mount(MOUNT_POINT, volume, type="volume", read_only=read_only, no_copy=True)],
            network_mode="none",
        )
        # The portal's own fixed configuration (no user input reaches it), so it is the one
        # container the host-access policy doesn't judge: a never-started empty image.
        answer = client.create_container(
            image,
            command=HELPER_COMMAND,
            name=name,
            labels=labels,
            host_config=host_config,
            network_disabled=True,
        )
    return answer["Id"]


def _remove_helper(container_id: str) -> None:
    with contextlib.suppress(Exception):
        api().remove_container(container_id, force=True)


@contextlib.contextmanager
def _helper(volume: str, *, read_only: bool = True) -> Iterator[str]:
    """A never-started helper container with `volume` at /v, removed afterwards."""
    container_id = _create_helper(volume, read_only=read_only)
    try:
        yield container_id
    finally:
        _remove_helper(container_id)


def _open_archive(container_id: str, path: str):
    """(response, stat dict) for GET /containers/{id}/archive; the caller closes the response."""
    with translate_errors():
        try:
            response = raw_http.get(
                api(),
                "/containers/{0}/archive",
                container_id,
                params={"path": _engine_path(path)},
                stream=True,
                headers={"Accept-Encoding": "identity"},
            )
        except docker.errors.NotFound:
            # raw_http closed the response.
            raise NotFound(f"No file or folder /{path} in this volume.") from None
    header = response.headers.get("X-Docker-Container-Path-Stat", "")
    info = json.loads(base64.b64decode(header)) if header else {}
    return response, info


class _ScanLimitReached(Exception):
    pass


class _CountingReader:
    """A file-like view of the raw response that refuses to read past `limit` bytes."""

    def __init__(self, raw, limit: int):
        self.raw = raw
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self.count >= self.limit:
            raise _ScanLimitReached
        if size is None or size < 0 or size > self.limit - self.count:
            size = self.limit - self.count
        data = self.raw.read(size)
        self.count += len(data)
        return data


# -- reading ----------------------------------------------------------------------------------


def stat_path(volume: str, path: str) -> Entry:
    """What `path` is. Raises NotFound, InvalidRequest, EngineUnavailable."""
    path = clean_path(path)
    with _helper(volume) as container_id:
        response, info = _open_archive(container_id, path)
        response.close()
    return _entry_from_stat(path, info)


def list_directory(volume: str, path: str, limit: int = LIST_LIMIT) -> tuple[Entry, Listing | None]:
    """(the entry at `path`, its listing when it is a directory, else None).

    Reads tar headers as they stream; stops after `limit` entries, SCAN_LIMIT tar members or
    SCAN_BYTES bytes, with `truncated` set. Raises NotFound, InvalidRequest, EngineUnavailable.
    """
    path = clean_path(path)
    with _helper(volume) as container_id:
        response, info = _open_archive(container_id, path)
        try:
            entry = _entry_from_stat(path, info)
            if not entry.is_dir:
                return entry, None
            entries, truncated = _read_listing(response, path, limit)
        finally:
            response.close()
    entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
    return entry, Listing(path=path, entries=entries, truncated=truncated, limit=limit)


def _read_listing(response, path: str, limit: int) -> tuple[list[Entry], bool]:
    entries: list[Entry] = []
    reader = _CountingReader(response.raw, SCAN_BYTES)
    top = None
    scanned = 0
    try:
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            for member in archive:
                scanned += 1
                name = member.name.rstrip("/")
                if top is None:
                    top = name
                    continue
                if not name.startswith(top + "/"):
                    continue
                rest = name[len(top) + 1 :]
                if rest and "/" not in rest:
                    entries.append(_entry_from_member(f"{path}/{rest}" if path else rest, member))
                    if len(entries) >= limit:
                        return entries, True
                if scanned >= SCAN_LIMIT:
                    return entries, True
    except (_ScanLimitReached, tarfile.ReadError):
        return entries, True
    except Exception as exc:  # noqa: BLE001 - a dropped engine connection mid-stream
        raise translate(exc) from exc
    return entries, False


@dataclass(frozen=True, slots=True)
class TextFile:
    entry: Entry
    text: str | None  # None when refused
    problem: str = ""  # why it isn't shown


def read_text(volume: str, path: str, limit: int = TEXT_LIMIT) -> TextFile:
    """A small text file's content, or why it can't be shown (too big, binary, not a file).

    Raises NotFound, InvalidRequest, EngineUnavailable.
    """
    path = clean_path(path)
    with _helper(volume) as container_id:
        response, info = _open_archive(container_id, path)
        try:
            entry = _entry_from_stat(path, info)
            if entry.kind != "file":
                return TextFile(entry, None, f"/{path} is not a regular file.")
            if entry.size > limit:
                return TextFile(
                    entry,
                    None,
                    f"This file is {entry.size} bytes; only files up to {limit} bytes are shown. "
                    "Download it instead.",
                )
            data = _first_member_bytes(response, limit)
        finally:
            response.close()
    if b"\x00" in data:
        return TextFile(entry, None, "This looks like a binary file. Download it instead.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return TextFile(entry, None, "This file is not UTF-8 text. Download it instead.")
    return TextFile(entry, text)


def _first_member_bytes(response, limit: int) -> bytes:
    with translate_errors(), tarfile.open(fileobj=response.raw, mode="r|") as archive:
        for member in archive:
            if member.isreg():
                extracted = archive.extractfile(member)
                return extracted.read(limit + 1) if extracted else b""
    return b""


@dataclass
class Download:
    """A file's bytes or a folder's tar, streamed; iterate `chunks` once (it cleans up)."""

    filename: str
    content_type: str
    size: int | None
    chunks: Iterator[bytes]


def open_download(volume: str, path: str) -> Download:
    """Stream a file (its bytes, `size` set) or a directory (a tar, no size).

    Raises NotFound, InvalidRequest (a symbolic link, a device…), EngineUnavailable before
    the first byte; the helper is removed when `chunks` ends or is closed."""
    path = clean_path(path)
    container_id = _create_helper(volume, read_only=True)
    try:
        response, info = _open_archive(container_id, path)
    except BaseException:
        _remove_helper(container_id)
        raise
    entry = _entry_from_stat(path, info)
    if entry.kind not in ("dir", "file"):
        # The archive holds the link (or device) itself, not bytes to send: say what it is.
        response.close()
        _remove_helper(container_id)
        if entry.kind == "link":
            raise InvalidRequest(
                f"/{path} is a symbolic link to {_link_place(entry.link_target)}: download "
                "what it points to instead."
            )
        raise InvalidRequest(f"/{path} is not a regular file or a folder: nothing to download.")
    base = entry.name or volume
    if entry.is_dir:
        return Download(
            f"{base}.tar", "application/x-tar", None, _raw_chunks(response, container_id)
        )
    return Download(
        base, "application/octet-stream", entry.size, _file_chunks(response, container_id)
    )


def _link_place(target: str) -> str:
    """Where a link points, as the user knows the volume: the engine resolves it inside the
    helper, where the volume is at MOUNT_POINT."""
    inside = target.removeprefix(f"{MOUNT_POINT}/")
    if inside != target:
        return f"/{inside} in this volume"
    return f"{target}, outside this volume"


def _raw_chunks(response, container_id: str) -> Iterator[bytes]:
    try:
        yield from response.raw.stream(CHUNK, decode_content=False)
    finally:
        response.close()
        _remove_helper(container_id)


def _file_chunks(response, container_id: str) -> Iterator[bytes]:
    try:
        with tarfile.open(fileobj=response.raw, mode="r|") as archive:
            for member in archive:
                extracted = archive.extractfile(member) if member.isreg() else None
                if extracted is None:
                    continue
                while chunk := extracted.read(CHUNK):
                    yield chunk
                return
    finally:
        response.close()
        _remove_helper(container_id)


# -- writing ----------------------------------------------------------------------------------


def upload_file(volume: str, directory: str, filename: str, data: BinaryIO, size: int) -> str:
    """Write `data` as `directory/filename` in the volume (replacing a file of that name);
    returns the new file's path. Raises NotFound, InvalidRequest (not a folder, bad name),
    EngineUnavailable."""
    directory = clean_path(directory)
    filename = clean_filename(filename)
    with _helper(volume, read_only=False) as container_id:
        response, info = _open_archive(container_id, directory)
        response.close()
        if not _entry_from_stat(directory, info).is_dir:
            raise InvalidRequest(f"/{directory} is not a folder.")
        with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
            with tarfile.open(fileobj=spool, mode="w") as archive:
                member = tarfile.TarInfo(filename)
                member.size = size
                member.mode = 0o644
                member.mtime = int(datetime.now(tz=UTC).timestamp())
                archive.addfile(member, data)
            spool.seek(0)
            with translate_errors():
                api().put_archive(container_id, _engine_path(directory), spool)
    return f"{directory}/{filename}" if directory else filename
