"""Build contexts from the build form: typed Dockerfile text, or an uploaded tar, tar.gz or zip.

The engine takes a tar (optionally compressed) as the build context; a zip is converted
to a tar here. Every problem is a ContextProblem whose message the form shows as it is.
"""

import io
import posixpath
import stat
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass

from dockerweb.sizes import human_size

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"


class ContextProblem(Exception):
    """The build context can't be used; the message says why, for the user."""


class MissingDockerfile(ContextProblem):
    """The archive is fine but has no file at the Dockerfile path."""


@dataclass(frozen=True)
class BuildContext:
    data: bytes  # a tar, gzipped when `gzip`
    gzip: bool


def clean_path(value: str) -> str:
    """A path inside the context (`Dockerfile`, `docker/Dockerfile.prod`), normalised."""
    value = value.strip()
    if not value:
        raise ContextProblem("Give the Dockerfile's path inside the build context.")
    if value.startswith("/"):
        raise ContextProblem("The Dockerfile path must be relative to the build context.")
    if ".." in value.split("/"):
        raise ContextProblem("The Dockerfile path can't go outside the build context (“..”).")
    path = posixpath.normpath(value)
    if path in ("", "."):
        raise ContextProblem("The Dockerfile path must name a file.")
    return path


def from_dockerfile_text(text: str, dockerfile: str) -> BuildContext:
    """A context holding just the Dockerfile (for `FROM … RUN …` builds that copy nothing)."""
    content = text.replace("\r\n", "\n").encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(dockerfile)
        info.size = len(content)
        info.mode = 0o644
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(content))
    return BuildContext(buffer.getvalue(), gzip=False)


def from_upload(data: bytes, dockerfile: str, *, limit: int) -> BuildContext:
    """Check an uploaded archive holds `dockerfile`; a zip becomes a tar of the same files."""
    if data[:4] in ZIP_MAGIC:
        context = BuildContext(_zip_to_tar(data, limit=limit), gzip=False)
    else:
        context = BuildContext(data, gzip=data[:2] == GZIP_MAGIC)
    if dockerfile not in _files_in_tar(context.data):
        raise MissingDockerfile(f"The build context has no file “{dockerfile}”.")
    return context


DOCKERFILE_READ_LIMIT = 1024 * 1024


def read_dockerfile(context: BuildContext, dockerfile: str) -> str:
    """The text of the Dockerfile inside a context (a link to another member is followed)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(context.data), mode="r:*") as tar:
            members = {_member_name(m.name): m for m in tar.getmembers()}
            member = members.get(dockerfile)
            for _ in range(8):  # a few links deep at most
                if member is None or not member.issym():
                    break
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(dockerfile), member.linkname)
                )
                member = members.get(_member_name(target))
            if member is None or not member.isfile():
                raise ContextProblem(f"“{dockerfile}” in the build context is not a readable file.")
            if member.size > DOCKERFILE_READ_LIMIT:
                raise ContextProblem(
                    f"“{dockerfile}” is larger than {human_size(DOCKERFILE_READ_LIMIT)}."
                )
            extracted = tar.extractfile(member)
            data = extracted.read() if extracted else b""
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _unreadable(exc) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ContextProblem(f"“{dockerfile}” is not UTF-8 text.") from None


def _member_name(name: str) -> str:
    """An archive member's path as the engine sees it ("./a/b/" → "a/b"); "" for the root."""
    path = posixpath.normpath(name.replace("\\", "/").lstrip("/"))
    if path == ".":
        return ""
    if path == ".." or path.startswith("../"):
        raise ContextProblem(f"The archive has a path outside the build context: “{name}”.")
    return path


def _unreadable(exc: Exception) -> ContextProblem:
    return ContextProblem(
        f"The build context is not a readable tar, tar.gz or zip archive ({exc or 'corrupt'})."
    )


def _files_in_tar(data: bytes) -> set[str]:
    """Paths of the files (and symlinks) in a tar, compressed or not; reads it to the end."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            return {
                _member_name(member.name)
                for member in tar.getmembers()
                if member.isfile() or member.issym() or member.islnk()
            }
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise _unreadable(exc) from None


def _zip_to_tar(data: bytes, *, limit: int) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if sum(info.file_size for info in infos) > limit:
                # The tar is held in memory: the unpacked size is what counts.
                raise ContextProblem(
                    f"The zip unpacks to more than the {human_size(limit)} limit; "
                    "upload a tar.gz instead."
                )
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                for info in infos:
                    _add_zip_member(archive, info, tar)
            return buffer.getvalue()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
        raise _unreadable(exc) from None
    except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encrypted
        raise ContextProblem(f"The zip can't be unpacked: {exc}.") from None


def _add_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, tar: tarfile.TarFile):
    name = _member_name(info.filename)
    if not name:
        return
    unix_mode = info.external_attr >> 16  # set by zips made on Unix; 0 otherwise
    member = tarfile.TarInfo(name)
    member.mtime = int(time.mktime((*info.date_time, 0, 0, -1)))
    if info.is_dir():
        member.type = tarfile.DIRTYPE
        member.mode = stat.S_IMODE(unix_mode) or 0o755
        tar.addfile(member)
    elif stat.S_ISLNK(unix_mode):
        member.type = tarfile.SYMTYPE
        member.linkname = archive.read(info).decode()
        member.mode = 0o777
        tar.addfile(member)
    else:
        member.size = info.file_size
        member.mode = stat.S_IMODE(unix_mode) or 0o644
        with archive.open(info) as source:
            tar.addfile(member, source)
