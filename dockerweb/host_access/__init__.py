"""Host access: what a container configuration reaches outside itself, and who may create it.

- `config`: reads host access out of a complete create body (pure; no engine calls).
- `binds`: the rule for host paths (administrators, inside DOCKERWEB_BIND_ROOTS).
- `policy`: the one policy every creating path asks (check_create, check_recreate).
"""

from .policy import (
    Problem,
    Refused,
    check_create,
    check_recreate,
    held_host_access,
    holds_host_access_message,
    is_admin,
)

__all__ = [
    "Problem",
    "Refused",
    "check_create",
    "check_recreate",
    "held_host_access",
    "holds_host_access_message",
    "is_admin",
]
