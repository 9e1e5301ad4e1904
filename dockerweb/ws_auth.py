"""Permission checks for websocket consumers, made before `accept()`."""

from channels.db import database_sync_to_async

# Close codes the browser sees when a socket is refused after the handshake started.
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


@database_sync_to_async
def _has_perm(user, permission: str) -> bool:
    return user.has_perm(permission)


async def user_may(scope, permission: str) -> bool:
    """True when the socket's user is logged in, active and has `permission`."""
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return await _has_perm(user, permission)
