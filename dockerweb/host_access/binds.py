"""The one rule for bind mounts of host paths, whichever field expresses them.

Run-form lines (`/host/path:/path[:ro]`) and bind-style volume driver options
(`type=none`, `o=bind`, `device=/host/path`) both come through check_bind_source.

A bind mount gives a container the host's files, so it is host access: only superusers,
only below one of settings.BIND_ROOTS (DOCKERWEB_BIND_ROOTS; none configured = no binds).

The check uses the *portal's* view of the filesystem (os.path.realpath resolves symlinks
here). That is the engine's host only when the engine is local, so binds are refused
when DOCKER_HOST isn't a local unix socket: a remote engine's host paths can't be checked.
"""

import os

from django.conf import settings
from django.core.exceptions import ValidationError

from dockerweb.gateway.types import RunSpec

DISABLED = "Bind mounts are disabled: set DOCKERWEB_BIND_ROOTS."
ADMINS_ONLY = "Bind mounts of host paths are only for admins."
REMOTE_ENGINE = (
    "Bind mounts need a local engine (DOCKER_HOST a unix socket): the portal can't check "
    "host paths of a remote engine."
)


def _allowed_roots() -> list[str]:
    """Real paths of the configured roots, read at call time (tests override the setting)."""
    roots = list(getattr(settings, "BIND_ROOTS", []) or [])
    for root in roots:
        if not os.path.isabs(root):
            # settings.py already refuses this; a bad override must not widen the rule.
            raise ValidationError(f"DOCKERWEB_BIND_ROOTS entry “{root}” is not absolute.")
    return [os.path.realpath(root) for root in roots]


def _is_local_engine() -> bool:
    """Whether the engine the container is created on (the request's) is this host's."""
    from dockerweb import engines

    return engines.current().address.startswith("unix://")


def check_bind_source(path: str, user) -> str:
    """The real host path to bind, or ValidationError saying why `path` may not be bound."""
    if user is None or not getattr(user, "is_superuser", False):
        raise ValidationError(ADMINS_ONLY)
    if not path.startswith("/"):
        raise ValidationError(f"The host path “{path}” must be absolute (start with /).")
    if ".." in path.split("/"):
        raise ValidationError(f"The host path “{path}” may not contain “..”.")
    roots = _allowed_roots()
    if not roots:
        raise ValidationError(DISABLED)
    if not _is_local_engine():
        raise ValidationError(REMOTE_ENGINE)
    real = os.path.realpath(path)
    if not any(os.path.commonpath([real, root]) == root for root in roots):
        shown = f"“{path}”" if real == path else f"“{path}” (really {real})"
        raise ValidationError(
            f"The host path {shown} is outside the allowed bind roots: {', '.join(roots)}."
        )
    if not os.path.exists(real):
        raise ValidationError(f"The host path “{path}” does not exist.")
    return real


def describe_binds(spec: RunSpec) -> str:
    """For the audit log: the host paths a run binds, or ""."""
    binds = [
        f"{v.bind_source}→{v.destination} ({'ro' if v.read_only else 'rw'})"
        for v in spec.volumes
        if v.bind_source
    ]
    return f"; bind mounts (host access): {', '.join(binds)}" if binds else ""
