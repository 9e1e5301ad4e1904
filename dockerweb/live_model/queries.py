"""Windows onto the model's containers: search, state filter, usage filters, sort, paging.

Pure functions over summaries, so they are tested without an engine. Every list the portal
shows is one of these windows: no page carries the whole engine.
"""

from dataclasses import dataclass, field, replace

from dockerweb.gateway.types import ContainerSummary

PER_PAGE = 100
STATES = ("running", "paused", "exited", "created")
SORTS = ("name", "state", "image", "created")
# A state filter names what a user sees: "exited" includes dead ones, "running" restarting.
_STATE_GROUPS = {
    "running": {"running", "restarting"},
    "paused": {"paused"},
    "exited": {"exited", "dead", "removing"},
    "created": {"created"},
}
_STATE_ORDER = {"running": 0, "restarting": 1, "paused": 2, "created": 3, "exited": 4, "dead": 5}


@dataclass(frozen=True)
class ContainerQuery:
    """What a containers window shows. Built from a request by `from_params`."""

    q: str = ""  # matched against name, image and id prefix, case-insensitively
    state: str = ""  # one of STATES, or everything
    sort: str = "created"  # one of SORTS
    descending: bool = True
    page: int = 1
    per_page: int = PER_PAGE
    # "Who uses this": containers made from an image id, mounting a volume, on a network.
    image_id: str = ""
    volume: str = ""
    network: str = ""

    @classmethod
    def from_params(cls, params, *, per_page: int = PER_PAGE) -> "ContainerQuery":
        """From a QueryDict (or dict); anything unknown falls back to the default."""
        state = params.get("state", "")
        sort = params.get("sort", "")
        if sort.lstrip("-") not in SORTS:
            sort = ""
        page = params.get("page", "")
        return cls(
            q=params.get("q", "").strip()[:200],
            state=state if state in STATES else "",
            sort=sort.lstrip("-") or "created",
            descending=sort.startswith("-") if sort else True,
            page=int(page) if page.isdigit() and 0 < len(page) < 7 else 1,
            per_page=per_page,
            image_id=params.get("image", "")[:200],
            volume=params.get("volume", "")[:300],
            network=params.get("network", "")[:300],
        )

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort

    def params(self, **changes) -> dict[str, str]:
        """This query as URL parameters (defaults left out), with `changes` applied."""
        query = replace(self, **changes)
        values = {
            "q": query.q,
            "state": query.state,
            "sort": "" if query.sort_param == "-created" else query.sort_param,
            "image": query.image_id,
            "volume": query.volume,
            "network": query.network,
            "page": "" if query.page == 1 else str(query.page),
        }
        return {key: value for key, value in values.items() if value}

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.state or self.image_id or self.volume or self.network)


@dataclass(frozen=True)
class Page:
    rows: list[ContainerSummary]
    query: ContainerQuery
    matched: int  # how many containers the query matches, on every page
    total: int  # how many containers the engine has
    counts: dict[str, int] = field(default_factory=dict)  # per state group, of all containers

    @property
    def pages(self) -> int:
        return max(1, -(-self.matched // self.query.per_page))

    @property
    def number(self) -> int:
        return min(self.query.page, self.pages)

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.query.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def sort_key(sort: str):
    if sort == "name":
        return lambda c: c.name.casefold()
    if sort == "state":
        return lambda c: (_STATE_ORDER.get(c.state, 9), c.name.casefold())
    if sort == "image":
        return lambda c: (c.image.casefold(), c.name.casefold())
    return lambda c: (c.created, c.id)


def matches(c: ContainerSummary, query: ContainerQuery, needle: str) -> bool:
    if query.state and c.state not in _STATE_GROUPS[query.state]:
        return False
    if needle and not (
        needle in c.name.casefold() or needle in c.image.casefold() or c.id.startswith(needle)
    ):
        return False
    if query.image_id and c.image_id != query.image_id:
        return False
    if query.volume and query.volume not in c.volumes:
        return False
    if query.network and not any(query.network in (e.network, e.network_id) for e in c.endpoints):
        return False
    return True


def state_counts(containers) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    for c in containers:
        for group, members in _STATE_GROUPS.items():
            if c.state in members:
                counts[group] += 1
                break
    counts["all"] = len(containers)
    return counts


def window(
    ordered: list[ContainerSummary],
    query: ContainerQuery,
    *,
    total: int,
    counts: dict[str, int],
    around: str = "",
) -> Page:
    """The page of `ordered` (already sorted as the query asks) that the query shows; with
    `around` (a container id), the page holding that container if it matches."""
    if query.filtered:
        needle = query.q.casefold()
        ordered = [c for c in ordered if matches(c, query, needle)]
    if around:
        for index, c in enumerate(ordered):
            if c.id == around:
                query = replace(query, page=index // query.per_page + 1)
                break
    pages = max(1, -(-len(ordered) // query.per_page))
    number = min(query.page, pages)
    start = (number - 1) * query.per_page
    return Page(
        rows=ordered[start : start + query.per_page],
        query=replace(query, page=number),
        matched=len(ordered),
        total=total,
        counts=counts,
    )
