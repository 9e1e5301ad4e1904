from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def is_partial(request) -> bool:
    """An htmx request that wants a fragment (a boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render_page_or_partial(request, page_template, partial_template, context, status=200):
    """The whole page, or only its fragment for htmx. Either way the answer says it
    depends on HX-Request, so no cache hands a fragment to a browser loading the page."""
    template = partial_template if is_partial(request) else page_template
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
