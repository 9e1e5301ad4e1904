"""Host access: what a container configuration reaches outside itself, and who may create it.

- `config`: reads host access out of a complete create body (pure; no engine calls).
- `binds`: the rule for host paths (administrators, inside DOCKERWEB_BIND_ROOTS).
- `policy`: the one policy every creating path asks (check_create, check_recreate).
- `services`: Swarm services, judged as the container their tasks run.
- `terminal`: who may open a terminal in which container (check_terminal).
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
from .services import check_service_change, check_service_create
from .terminal import check_terminal

__all__ = [
    "Problem",
    "Refused",
    "check_create",
    "check_recreate",
    "check_service_change",
    "check_service_create",
    "check_terminal",
    "held_host_access",
    "holds_host_access_message",
    "is_admin",
]
