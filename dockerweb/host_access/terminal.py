"""Who may open a terminal in which container: the one judgement the Terminal tab's page and
its socket both ask.

A terminal is a shell inside the container with the container's powers: in a privileged or
host-mounted container that is root on the host. So:
- administrators always;
- users holding `containers.open_terminal` only in containers without host access (judged
  on the container's current configuration, as the Settings tab's recreate is);
- nobody else. The exec itself is never privileged (gateway.exec).
"""

from dockerweb import gateway
from dockerweb.gateway.types import ContainerDetail

from .policy import Problem, Refused, held_host_access, is_admin

OPEN_TERMINAL = "containers.open_terminal"
NOT_ALLOWED = (
    "Opening a terminal is for administrators and for users given the “open a terminal” "
    "permission: a terminal is a shell inside the container."
)


def check_terminal(user, container: ContainerDetail) -> None:
    """None when `user` may open a terminal in `container` (an inspected container), else
    raises Refused saying why. Raises GatewayError when the engine can't answer what the
    judgement needs (the container's named volumes)."""
    if is_admin(user):
        return
    if not (getattr(user, "is_active", False) and user.has_perm(OPEN_TERMINAL)):
        raise Refused([Problem(NOT_ALLOWED)])
    held = held_host_access(gateway.recreate.settings_of(container).body)
    if held:
        what = "; it ".join(finding.what for finding in held)
        raise Refused(
            [
                Problem(
                    f"Only administrators can open a terminal in this container: it has host "
                    f"access (it {what}), so a shell in it would be root on the host."
                )
            ]
        )
