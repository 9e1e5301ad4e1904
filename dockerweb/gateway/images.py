"""Images: listing, inspecting, pulling, building, tagging, pushing, removing, pruning."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from docker import auth as docker_auth
from docker.utils import parse_repository_tag

from . import raw_http
from .client import api, close_response, translate_errors
from .errors import EngineError, NotFound
from .types import parse_engine_time

NONE_TAG = "<none>:<none>"
# What the history says for a step whose image is not on this engine.
MISSING_LAYER = "<missing>"


@dataclass(frozen=True, slots=True)
class ImageSummary:
    """One image of GET /images/json (an image with several tags is one summary)."""

    id: str
    tags: tuple[str, ...]
    size: int
    created: datetime
    labels: dict[str, str] = field(default_factory=dict)
    # The image it was built on, when that image is on this engine; "" for a base image (an
    # import, or a pull: a registry sends layers, not the images they were built as).
    parent_id: str = ""

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def dangling(self) -> bool:
        return not self.tags

    @property
    def base(self) -> bool:
        return not self.parent_id


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One layer of `docker history`, newest first."""

    # The image this step made when it is on this engine; "" for a step whose image isn't
    # (the engine says "<missing>": pulled layers, or steps of another machine's build).
    image_id: str
    created_by: str
    size: int
    created: datetime | None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ImageDetail:
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    size: int
    created: datetime | None
    os: str
    architecture: str
    command: tuple[str, ...]
    entrypoint: tuple[str, ...]
    env: tuple[str, ...]
    exposed_ports: tuple[str, ...]
    labels: dict[str, str]
    history: tuple[HistoryEntry, ...]
    raw: dict
    parent_id: str = ""

    @property
    def base(self) -> bool:
        return not self.parent_id

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One message of a pull, push or build stream."""

    id: str = ""  # layer id for pull/push
    status: str = ""
    current: int | None = None
    total: int | None = None
    text: str = ""  # build output ("stream")
    image_id: str = ""  # build result ("aux": {"ID": …})


def _summary(item: dict) -> ImageSummary:
    tags = tuple(t for t in item.get("RepoTags") or () if t != NONE_TAG)
    return ImageSummary(
        id=item["Id"],
        tags=tags,
        size=item.get("Size", 0),
        created=datetime.fromtimestamp(item.get("Created", 0), tz=UTC),
        labels=item.get("Labels") or {},
        parent_id=item.get("ParentId") or "",
    )


def list_images() -> list[ImageSummary]:
    """Every top-level image, newest first; one GET /images/json. Raises EngineUnavailable."""
    with translate_errors():
        items = api().images()
    return sorted((_summary(i) for i in items), key=lambda i: i.created, reverse=True)


def image_exists(reference: str) -> bool:
    """Whether the engine has this image locally. Raises EngineUnavailable."""
    try:
        with translate_errors():
            api().inspect_image(reference)
    except NotFound:
        return False
    return True


def image_id(reference: str) -> str:
    """The id of a local image. Raises NotFound, EngineUnavailable."""
    with translate_errors():
        return api().inspect_image(reference)["Id"]


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What an image brings into whatever is made from it: labels and ONBUILD triggers."""

    id: str
    labels: dict[str, str]
    on_build: tuple[str, ...]


def image_config(reference: str) -> ImageConfig:
    """One image's labels and triggers (one inspect). Raises NotFound, EngineUnavailable."""
    with translate_errors():
        doc = api().inspect_image(reference)
    config = doc.get("Config") or {}
    return ImageConfig(
        id=doc["Id"],
        labels=dict(config.get("Labels") or {}),
        on_build=tuple(config.get("OnBuild") or ()),
    )


def inspect_image(reference: str) -> ImageDetail:
    """An image's configuration and layer history. Raises NotFound, EngineUnavailable."""
    with translate_errors():
        doc = api().inspect_image(reference)
        history = api().history(doc["Id"])
    config = doc.get("Config") or {}
    return ImageDetail(
        id=doc["Id"],
        tags=tuple(doc.get("RepoTags") or ()),
        digests=tuple(doc.get("RepoDigests") or ()),
        size=doc.get("Size", 0),
        created=parse_engine_time(doc.get("Created")),
        os=doc.get("Os", ""),
        architecture=doc.get("Architecture", ""),
        command=tuple(config.get("Cmd") or ()),
        entrypoint=tuple(config.get("Entrypoint") or ()),
        env=tuple(config.get("Env") or ()),
        exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        labels=config.get("Labels") or {},
        history=tuple(
            HistoryEntry(
                image_id=_local_id(h.get("Id")),
                created_by=h.get("CreatedBy", ""),
                size=h.get("Size", 0),
                created=datetime.fromtimestamp(h["Created"], tz=UTC) if h.get("Created") else None,
                comment=h.get("Comment", ""),
            )
            for h in history
        ),
        raw=doc,
        parent_id=doc.get("Parent") or "",
    )


def _local_id(history_id: str | None) -> str:
    return "" if not history_id or history_id == MISSING_LAYER else history_id


@dataclass(frozen=True, slots=True)
class ImageLink:
    """An image as a link of a parent chain: its id, its tags, the image it was built on."""

    id: str
    tags: tuple[str, ...]
    parent_id: str


def image_link(image_id: str) -> ImageLink:
    """One image's place in its chain (one inspect). Raises NotFound, EngineUnavailable."""
    with translate_errors():
        doc = api().inspect_image(image_id)
    return ImageLink(
        id=doc["Id"],
        tags=tuple(t for t in doc.get("RepoTags") or () if t != NONE_TAG),
        parent_id=doc.get("Parent") or "",
    )


def tag_image(source: str, repository: str, tag: str) -> None:
    """Add `repository:tag` to an image. Raises NotFound, InvalidRequest, EngineUnavailable."""
    with translate_errors():
        api().tag(source, repository, tag)


def tag_reference(source: str, reference: str) -> None:
    """Add a full reference (`registry:port/name:tag`) to an image. Raises as `tag_image`."""
    repository, tag = _split_reference(reference)
    tag_image(source, repository, tag)


@dataclass(frozen=True, slots=True)
class RemovalResult:
    """What removing an image did, in the engine's order."""

    untagged: tuple[str, ...] = ()  # references no longer naming the image
    deleted: tuple[str, ...] = ()  # ids of the image and layer records deleted


def remove_image(reference: str, *, force: bool = False) -> RemovalResult:
    """Untag or delete an image; says what the engine untagged and deleted.

    Raises NotFound, Conflict (in use, or several tags without force), EngineUnavailable.
    """
    with translate_errors():
        answer = api().remove_image(reference, force=force) or []
    return RemovalResult(
        untagged=tuple(a["Untagged"] for a in answer if a.get("Untagged")),
        deleted=tuple(a["Deleted"] for a in answer if a.get("Deleted")),
    )


def dangling_images() -> list[ImageSummary]:
    """Images with no tag (what a dangling prune offers; the portal removes the confirmed
    ones one by one, never with the engine-wide prune). Raises EngineUnavailable."""
    with translate_errors():
        items = api().images(filters={"dangling": True})
    return [_summary(i) for i in items]


@dataclass(frozen=True, slots=True)
class HubResult:
    """One repository a Docker Hub search found."""

    name: str
    description: str = ""
    star_count: int = 0
    is_official: bool = False


def search_hub(term: str, limit: int = 25) -> list[HubResult]:
    """Docker Hub search through the engine (needs the engine to reach the Hub).

    Raises EngineError (Hub unreachable), EngineUnavailable.
    """
    with translate_errors():
        items = api().search(term, limit=limit)
    return [
        HubResult(
            name=item.get("name") or "",
            description=item.get("description") or "",
            star_count=item.get("star_count") or 0,
            is_official=bool(item.get("is_official")),
        )
        for item in items
    ]


class ProgressStream:
    """A pull, push or build in progress: iterate events in one thread, close from another.

    The engine reports failures *inside* a successful HTTP stream ({"error": …}); they are
    raised here as EngineError with the engine's message.
    """

    def __init__(self, response, events: Iterator[dict]):
        self._response = response
        self._events = events

    def __iter__(self) -> Iterator[ProgressEvent]:
        with translate_errors():
            for raw in self._events:
                if raw.get("error") or raw.get("errorDetail"):
                    detail = raw.get("errorDetail") or {}
                    raise EngineError(raw.get("error") or detail.get("message") or "failed")
                detail = raw.get("progressDetail") or {}
                yield ProgressEvent(
                    id=raw.get("id", ""),
                    status=raw.get("status", ""),
                    current=detail.get("current"),
                    total=detail.get("total"),
                    text=raw.get("stream", ""),
                    image_id=(raw.get("aux") or {}).get("ID", ""),
                )

    def close(self) -> None:
        close_response(self._response)


def _stream(request_fn) -> ProgressStream:
    """Issue a streaming request and decode its JSON lines (docker-py's own decoder)."""
    client = api()
    with translate_errors():
        response = request_fn(client)
    return ProgressStream(response, raw_http.json_messages(client, response))


def pull(reference: str, *, auth: dict | None = None) -> ProgressStream:
    """Start pulling `reference` (name, name:tag, name@digest).

    Raises EngineUnavailable, NotFound/EngineError (at once, or while iterating).
    """
    repository, tag = _split_reference(reference)
    params = {"fromImage": repository, "tag": tag}

    def request(client):
        headers = _auth_header(auth)
        return raw_http.post(
            client, "/images/create", params=params, headers=headers, stream=True, timeout=None
        )

    return _stream(request)


def push(reference: str, *, auth: dict | None = None) -> ProgressStream:
    """Start pushing `reference` (name:tag) to its registry. Raises as `pull`."""
    repository, tag = _split_reference(reference)

    def request(client):
        headers = _auth_header(auth)
        return raw_http.post_json(
            client,
            "/images/{0}/push",
            repository,
            headers=headers,
            stream=True,
            params={"tag": tag},
            timeout=None,
        )

    return _stream(request)


def build(
    context: IO[bytes],
    *,
    tags: list[str],
    dockerfile: str = "Dockerfile",
    buildargs: dict[str, str] | None = None,
    nocache: bool = False,
    gzip: bool = False,
    labels: dict[str, str] | None = None,
) -> ProgressStream:
    """Build an image from a tar build context (optionally gzipped).

    Raises InvalidRequest, EngineUnavailable; build failures surface while iterating.
    """
    params = {
        "t": tags[0] if tags else None,
        "dockerfile": dockerfile,
        "nocache": nocache,
        "rm": True,
        "forcerm": True,
        "buildargs": _json(buildargs or {}),
        "labels": _json(labels or {}),
    }
    headers = {"Content-Type": "application/tar"}
    if gzip:
        headers["Content-Encoding"] = "gzip"

    def request(client):
        return raw_http.post(
            client,
            "/build",
            data=context,
            params=params,
            headers=headers,
            stream=True,
            timeout=None,
        )

    return _stream(request)


def _json(value: dict) -> str:
    return json.dumps(value)


def _split_reference(reference: str) -> tuple[str, str]:
    """`name:tag` / `name@digest` / `name` → (repository, tag-or-digest)."""
    repository, tag = parse_repository_tag(reference)
    return repository, tag or "latest"


def _auth_header(auth: dict | None) -> dict:
    if not auth:
        return {}
    return {"X-Registry-Auth": docker_auth.encode_header(auth)}


def registry_of(reference: str) -> str:
    """The registry address a reference points at (`docker.io` for Hub names)."""
    repository, _ = _split_reference(reference)
    registry, _ = docker_auth.resolve_repository_name(repository)
    return registry
