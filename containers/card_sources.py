"""The image cards of "New container": local images, admin-configured registries, Docker Hub.

Each source is asked on its own (the page loads each as its own fragment), so a slow or
unreachable registry or Hub never holds back the local cards. Local images come from the
live model (no engine call); registries from images.registry_catalog (HTTP to the
registries, bounded and cached); the Hub through the engine's search.
"""

import hashlib
from dataclasses import dataclass

from dockerweb import engines, gateway
from dockerweb.engine_errors import report_engine_error
from images import registry_catalog

QUERY_MAX = 200
LOCAL_CARDS = 24
HUB_CARDS = 12
# The portal's own images (the volume browser's helper): nothing a user means to run.
PORTAL_IMAGES = frozenset({gateway.volume_files.HELPER_IMAGE})
HUB_UNREACHABLE = "Docker Hub can't be reached from the engine."


@dataclass(frozen=True, slots=True)
class Card:
    """One image a user may run: `references` are what Create may run, the default first."""

    name: str
    source: str  # "local", "registry" or "hub"
    references: tuple[str, ...]
    size: int | None = None
    description: str = ""
    stars: int | None = None
    official: bool = False
    registry: str = ""

    @property
    def default(self) -> str:
        return self.references[0]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(reference, its tag) for the tag picker."""
        return [(reference, reference.rpartition(":")[2]) for reference in self.references]

    @property
    def slug(self) -> str:
        """A stable id for the card's elements."""
        return f"{self.source}-{hashlib.sha256(self.name.encode()).hexdigest()[:10]}"


def clean_query(raw: str) -> str:
    return " ".join(raw.split())[:QUERY_MAX]


# -- local images ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalCards:
    cards: list[Card]
    more: int  # matching repositories left out


def local_cards(request, query: str) -> LocalCards:
    """One card per local repository whose name matches, its tags as choices ("latest"
    first, then newest); dangling images have no name to run by and no card."""
    try:
        images = engines.live_for(request).images()
    except gateway.EngineUnavailable as exc:
        report_engine_error(request, exc)
        return LocalCards([], 0)
    needle = query.lower()
    tagged: dict[str, list[tuple[str, object]]] = {}
    for image in images:  # newest first
        for tag in image.tags:
            repository, _, name = tag.rpartition(":")
            if needle in tag.lower() and tag not in PORTAL_IMAGES:
                tagged.setdefault(repository, []).append((name, image))
    cards = []
    for repository in sorted(tagged):
        tags = sorted(tagged[repository], key=lambda item: item[0] != "latest")
        cards.append(
            Card(
                name=repository,
                source="local",
                references=tuple(f"{repository}:{name}" for name, _ in tags),
                size=tags[0][1].size,
            )
        )
    return LocalCards(cards[:LOCAL_CARDS], max(0, len(cards) - LOCAL_CARDS))


# -- registries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistrySection:
    registry: str
    cards: list[Card]
    problem: str


def registry_sections(query: str) -> list[RegistrySection]:
    sections = []
    for answer in registry_catalog.search_all(query):
        cards = [
            Card(
                name=repository.reference,
                source="registry",
                references=tuple(f"{repository.reference}:{tag}" for tag in repository.tags),
                registry=answer.registry,
            )
            for repository in answer.repositories
        ]
        sections.append(RegistrySection(answer.registry, cards, answer.problem))
    return sections


# -- Docker Hub --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubCards:
    cards: list[Card]
    problem: str = ""


def hub_cards(request, query: str) -> HubCards:
    """Docker Hub's answer through the engine. Offline, one friendly line: the engine's own
    error (a DNS or dial failure) says nothing a user can act on."""
    if not query:
        return HubCards([])
    try:
        results = gateway.images.search_hub(query, limit=HUB_CARDS)
    except gateway.EngineUnavailable as exc:
        # A slow Hub looks like a slow engine; tell them apart by asking the engine.
        try:
            gateway.events.ping()
        except gateway.GatewayError:
            report_engine_error(request, exc)
            return HubCards([], "Docker Hub can't be searched while the engine is unavailable.")
        return HubCards([], HUB_UNREACHABLE)
    except gateway.GatewayError:
        return HubCards([], HUB_UNREACHABLE)
    cards = [
        Card(
            name=result.name,
            source="hub",
            references=(f"{result.name}:latest",),
            description=result.description,
            stars=result.star_count,
            official=result.is_official,
        )
        for result in results
    ]
    return HubCards(cards)
