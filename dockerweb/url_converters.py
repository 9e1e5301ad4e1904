"""Path converters for Docker objects: a URL parameter only matches what the engine could accept.

Anything else is a 404 before any engine call. docker-py puts these values into engine URLs
as they are (`/images/{name}/json`, `/` kept), and the engine answers a path with `..` in it
with a redirect to the cleaned path: an unchecked `x/../../containers` made an image page
read the container listing. Registered once, here; each app's urls.py imports this module.
"""

import re

from django.urls import register_converter

from dockerweb.engine_specs import NAME_PATTERN
from dockerweb.references import reference_problem


class _Converter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ContainerRefConverter(_Converter):
    """A container id (or a prefix of one) or name: the engine's name rule, no `/`."""

    regex = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"


class ImageRefConverter(_Converter):
    """An image id (sha256:…), short id, or reference with registry, path, tag and digest,
    checked against the reference grammar (dockerweb.references), which has no `..`.

    It holds `/`, so it must be the last part of a route (`view/<image:reference>/`, see
    images/urls.py): a word after it (`<image:reference>/push/`) can also be read as part of
    the reference. `[` and `]` are for an IPv6 registry host (`[::1]:5000/name`), `+` for a
    digest algorithm (`name@a+b:…`)."""

    regex = r"[A-Za-z0-9\[][A-Za-z0-9._:/@+\[\]-]*"

    def to_python(self, value: str) -> str:
        if reference_problem(value):
            raise ValueError(value)
        return value


class VolumeNameConverter(_Converter):
    """A volume name as the engine's local driver allows it (anonymous ones are 64 hex)."""

    regex = r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}"


# The engine takes any network name (spaces, accents…) but `/` and control characters can't
# be sent in a path, and `.`/`..` would be cleaned away into another engine URL.
_NETWORK_RE = re.compile(r"[^/\x00-\x1f\x7f]+")


class NetworkRefConverter(_Converter):
    """A network id or name."""

    regex = _NETWORK_RE.pattern

    def to_python(self, value: str) -> str:
        if value in (".", ".."):
            raise ValueError(value)
        return value


class SwarmRefConverter(_Converter):
    """A service or node id (or prefix) or a service name: letters, digits and -, no `/`
    nor `.`, so nothing else reaches the engine's URLs."""

    regex = r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}"


class EngineNameConverter(_Converter):
    """An engine's name (a slug), on the Engines settings pages: anything else is a 404
    before any lookup."""

    regex = NAME_PATTERN


register_converter(ContainerRefConverter, "container")
register_converter(ImageRefConverter, "image")
register_converter(VolumeNameConverter, "volume")
register_converter(NetworkRefConverter, "network")
register_converter(SwarmRefConverter, "swarmref")
register_converter(EngineNameConverter, "engine_slug")
