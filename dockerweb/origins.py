"""Websockets open only from the portal's own pages: the exact origin, scheme + host + port.

A browser sends the portal's session cookie with a websocket to any port of the portal's
host, whichever page opens it: cookies ignore ports. So the Origin header is what tells the
portal's own pages from a container someone published on another port of the same host
(the portal even links to those). Channels' AllowedHostsOriginValidator compares host names
only; this compares whole origins. A socket without an Origin header is refused: browsers
always send one, and a non-browser client has no cookie to steal.

The portal's origins are: the address the socket was sent to (its Host header, which must be
a host Django answers to, with http for ws and https for wss), the host:port entries of
DOCKERWEB_ALLOWED_HOSTS (settings.PORTAL_ADDRESSES) and DOCKERWEB_CSRF_TRUSTED_ORIGINS
(exact origins, for TLS proxies). Settings are read per socket: a few strings, and tests may
change them.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # (scheme, host, port)


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` → (scheme, host, port with the scheme's default filled in)."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _header(scope, name: bytes) -> str | None:
    """The header's value, or None when it is missing or given more than once."""
    values = [value for key, value in scope.get("headers", []) if key == name]
    return values[0].decode("latin1") if len(values) == 1 else None


def served_origin(scope) -> Origin | None:
    """The origin of the address this socket was sent to, if it is one the portal answers to."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None  # a foreign name pointed at us (DNS rebinding) is not our origin
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return parse_origin(f"{scheme}://{host}")


def configured_origins() -> set[Origin]:
    addresses = getattr(settings, "PORTAL_ADDRESSES", [])
    # One port serves one thing: a listed address is ours whichever scheme it speaks.
    candidates = [f"{scheme}://{address}" for address in addresses for scheme in DEFAULT_PORTS]
    candidates += settings.CSRF_TRUSTED_ORIGINS
    return {origin for origin in map(parse_origin, candidates) if origin}


def is_portal_origin(scope) -> bool:
    origin = parse_origin(_header(scope, b"origin") or "")
    if origin is None:
        return False
    return origin == served_origin(scope) or origin in configured_origins()


class PortalOriginValidator:
    """ASGI middleware: websockets from any other origin are refused before anything else."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and is_portal_origin(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
