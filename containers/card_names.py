"""The name a card's Create gives its container: the image's repository and tag, as a user
would call it (`busybox-latest`), never its id; made unique with a suffix when taken."""

import re

from dockerweb import gateway
from dockerweb.references import IMAGE_ID_RE

NAME_MAX = 64
SUFFIXES = 50  # busybox-latest, busybox-latest-2 … busybox-latest-50, then the engine picks
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def base_name(reference: str) -> str:
    """`registry:5000/team/busybox:1.36` → `busybox-1.36`; an id → "" (nothing to name by)."""
    if IMAGE_ID_RE.match(reference):
        return ""
    reference, _, digest = reference.partition("@")
    last = reference.rsplit("/", 1)[-1]
    repository, _, tag = last.partition(":")
    if digest:
        tag = digest.partition(":")[2][:12] or tag
    name = _UNSAFE.sub("-", f"{repository}-{tag or 'latest'}").strip("-._")
    name = name[:NAME_MAX].rstrip("-._")
    return name if len(name) >= 2 else ""


def free_name(reference: str) -> str:
    """The first of base, base-2, base-3… no container has; "" lets the engine pick.

    Raises EngineUnavailable.
    """
    base = base_name(reference)
    if not base:
        return ""
    for n in range(1, SUFFIXES + 1):
        candidate = base if n == 1 else f"{base[: NAME_MAX - 4]}-{n}"
        if not gateway.containers.name_in_use(candidate):
            return candidate
    return ""
