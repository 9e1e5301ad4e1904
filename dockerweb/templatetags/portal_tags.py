from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from dockerweb import container_html as rendering
from dockerweb.sizes import human_size

register = template.Library()

register.simple_tag(rendering.sidebar_items, name="sidebar_items")
register.simple_tag(rendering.table_rows, name="table_rows")
# `{{ bytes|size }}`: the one way sizes are written on pages (dockerweb/sizes.py).
register.filter("size", human_size)


@register.simple_tag
def port_link(port):
    return mark_safe(rendering.port_link(port))  # noqa: S308 - escaped in port_link


@register.simple_tag
def window_url(url_name, query, **changes):
    """The URL of a containers window: `query` (a ContainerQuery) with `changes` applied,
    page back to 1 unless a page is given (a new filter or sort starts at the top)."""
    changes.setdefault("page", 1)
    if not changes.get("sort", "x"):
        del changes["sort"]  # paging keeps the sort
    if changes.get("sort"):
        wanted = changes["sort"]
        # The active column again flips the direction; a new one starts ascending (newest
        # first for Created).
        if wanted == query.sort:
            changes["descending"] = not query.descending
        else:
            changes["descending"] = wanted == "created"
    params = query.params(**changes)
    return reverse(url_name) + (f"?{urlencode(params)}" if params else "")


@register.simple_tag
def sort_state(query, column):
    """aria-sort for a column header."""
    if query.sort != column:
        return "none"
    return "descending" if query.descending else "ascending"


@register.simple_tag
def sidebar_items_of(container):
    """One container's sidebar item (the selected one, pinned above the window)."""
    return rendering.sidebar_items([container])
