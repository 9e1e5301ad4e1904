"""Where an image comes from: its parent chain (this image → parent → … → base) and its layer
history written for people.

The chain is read from the live model where it can (tagged images are in it, with their
parent), and from the engine only for the untagged intermediate images a build leaves between
them, one inspect each, at most MAX_ANCESTORS.
"""

import re
from dataclasses import dataclass, field

from dockerweb import gateway

# A chain longer than this (a Dockerfile of that many steps) ends in "and more": a page costs
# a bounded number of engine calls however an image was built.
MAX_ANCESTORS = 40


@dataclass(frozen=True, slots=True)
class Ancestor:
    """One image of the chain, named by its first tag, or its short id when it has none."""

    id: str
    tags: tuple[str, ...]

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def reference(self) -> str:
        """What its link addresses."""
        return self.tags[0] if self.tags else self.id

    @property
    def name(self) -> str:
        return self.tags[0] if self.tags else self.short_id


@dataclass(slots=True)
class Lineage:
    """The ancestors of an image, nearest first."""

    ancestors: list[Ancestor] = field(default_factory=list)
    # The walk stopped before a base: the chain is longer than MAX_ANCESTORS…
    cut_short: bool = False
    # …or an ancestor is gone from the engine (or the engine stopped answering).
    broken: bool = False

    @property
    def base(self) -> Ancestor | None:
        """The image at the root of the chain, when the walk reached it."""
        if self.ancestors and not (self.cut_short or self.broken):
            return self.ancestors[-1]
        return None


def lineage_of(image, model=None) -> Lineage:
    """The chain above `image` (anything with `.parent_id`). `model` is the live model, or
    None while the engine is down (then every step is an inspect, which fails the same)."""
    found = Lineage()
    parent_id = image.parent_id
    seen = {image.id}
    while parent_id:
        if len(found.ancestors) == MAX_ANCESTORS or parent_id in seen:
            found.cut_short = True
            break
        seen.add(parent_id)
        link = model.image(parent_id) if model is not None else None
        if link is None:
            try:
                link = gateway.images.image_link(parent_id)
            except (gateway.NotFound, gateway.EngineUnavailable):
                found.broken = True
                break
        found.ancestors.append(Ancestor(link.id, tuple(sorted(link.tags))))
        parent_id = link.parent_id
    return found


# What the classic builder writes before a step: `/bin/sh -c #(nop) ` for the steps that run
# nothing (CMD, ENV, LABEL, COPY…), `/bin/sh -c ` for RUN, after `|N ARG=v …` when the build
# had N build arguments.
_BUILD_ARGS = re.compile(r"^\|\d+ (?:\S+=\S* )*")
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_RUN = re.compile(r"^/bin/sh -c ")
SHORT_STEP = 90


def instruction(created_by: str) -> str:
    """A history step as the Dockerfile line it came from: `CMD ["sh"]`, `RUN echo hi`."""
    text = _BUILD_ARGS.sub("", created_by.strip())
    if _NOP.match(text):
        return _NOP.sub("", text)
    if _RUN.match(text):
        return "RUN " + _RUN.sub("", text)
    return text


@dataclass(frozen=True, slots=True)
class Step:
    """A row of the layer table."""

    entry: gateway.images.HistoryEntry

    @property
    def instruction(self) -> str:
        return instruction(self.entry.created_by)

    @property
    def short(self) -> str:
        """The instruction cut to one line; the full text is a click away when cut."""
        text = " ".join(self.instruction.split())
        return text if len(text) <= SHORT_STEP else text[: SHORT_STEP - 1] + "…"

    @property
    def abridged(self) -> bool:
        """Cut short (the builder's `/bin/sh -c #(nop)` alone is not worth a click)."""
        return self.short != self.instruction

    @property
    def short_id(self) -> str:
        return self.entry.image_id.removeprefix("sha256:")[:12]


def steps(history) -> list[Step]:
    return [Step(entry) for entry in history]
