"""Knowing the portal's own helper containers by something users can't forge.

The volume file browser creates short-lived, never-started helper containers. Listings and
live updates leave them out — so the label that marks them must not be something anyone
could put on a container to hide it. The label's value is an HMAC of the helper's name
under the portal's secret key: only the portal computes it, and every portal process
sharing the key recognises the helpers of the others. A container whose label doesn't
verify is an ordinary container and is shown like any other.
"""

import hmac
import secrets

from django.utils.crypto import salted_hmac

from .types import HELPER_LABEL

_SALT = "dockerweb.gateway.portal_helpers"
NAME_PREFIX = "dockerweb-helper-"


def _token(name: str) -> str:
    return salted_hmac(_SALT, name, algorithm="sha256").hexdigest()


def new_helper() -> tuple[str, dict[str, str]]:
    """A fresh helper's name and the labels that mark it as the portal's."""
    name = f"{NAME_PREFIX}{secrets.token_hex(8)}"
    return name, {HELPER_LABEL: _token(name)}


def is_portal_helper(labels: dict | None, name: str) -> bool:
    """Whether a container (its labels and its name, with or without the leading "/") is
    one of the portal's own helpers."""
    value = (labels or {}).get(HELPER_LABEL)
    name = name.lstrip("/")
    if not value or not name.startswith(NAME_PREFIX):
        return False
    return hmac.compare_digest(value, _token(name))


def is_listed_helper(item: dict) -> bool:
    """`is_portal_helper` for one item of the engine's container listing."""
    return is_portal_helper(item.get("Labels"), (item.get("Names") or [""])[0])
