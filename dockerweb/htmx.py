def is_partial(request) -> bool:
    """An htmx request that wants a fragment (a boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted
