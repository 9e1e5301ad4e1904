"""Content-Security-Policy on every response (Django 5.2 has none built in).

Pages load scripts, styles and images only from the portal itself, talk only to it (fetch,
htmx and same-origin ws:// — 'self' covers websockets in CSP 3), and can't run inline code:
markup that slips through escaping can't act. Our templates carry no inline scripts, handlers
or styles (tests/test_csp.py keeps it so); behaviour lives in static/js.
"""

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

# One policy for every path, the Django admin (Users & roles) included: its 5.2 pages we use
# (users, groups with the permission picker, access attempts) run clean under it. Its one inline
# <style>, on change lists of models without actions, would only lose a column width.
POLICY = "; ".join(f"{name} {value}" for name, value in _DIRECTIVES.items())


def _add_policy(response):
    if "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = POLICY
    return response


@sync_and_async_middleware
def content_security_policy(get_response):
    """First in MIDDLEWARE, so static files, redirects and error pages get it too."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            return _add_policy(await get_response(request))

    else:

        def middleware(request):
            return _add_policy(get_response(request))

    return middleware
