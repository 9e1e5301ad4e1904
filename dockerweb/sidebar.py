"""The sidebar every page shows: a window of the engine's containers, from the live model.

It shows SIDEBAR_ROWS containers sorted by name, the user's sidebar filter (kept in the
session, so it follows them from page to page), and the container a page is about is always
in view: the window holding it, or pinned on top when the filter leaves it out.
"""

from dataclasses import dataclass

from dockerweb import engines, gateway
from dockerweb.live_model import ContainerQuery, Page

SIDEBAR_ROWS = 50
SESSION_KEY = "sidebar_q"
VIEW = "containers.view_container"


@dataclass(frozen=True)
class Sidebar:
    page: Page
    pinned: object = None  # the selected container when the filter leaves it out


def query_for(request, params=None) -> ContainerQuery:
    """The sidebar's query: `params` (the sidebar's own requests) or the session's filter."""
    if params is not None and "q" in params:
        request.session[SESSION_KEY] = params.get("q", "").strip()[:200]
    values = {"q": request.session.get(SESSION_KEY, ""), "sort": "name"}
    if params is not None and params.get("page"):
        values["page"] = params["page"]
    return ContainerQuery.from_params(values, per_page=SIDEBAR_ROWS)


def build(request, params=None, selected: str = "") -> Sidebar | None:
    """The sidebar for this request, or None (with the engine banner) when the engine is down."""
    try:
        model = engines.live_for(request)
    except gateway.EngineUnavailable as exc:
        request.engine_problem = exc
        return None
    query = query_for(request, params)
    around = selected if selected and not (params and params.get("page")) else ""
    page = model.containers_page(query, around=around)
    pinned = None
    if selected and all(c.id != selected for c in page.rows):
        pinned = model.container(selected)
    return Sidebar(page=page, pinned=pinned)
