"""The server's event loop, for threads that must hand work to it.

Job threads publish progress to the channel layer; the in-memory layer may only be used
from the loop its consumers run in. The ASGI application records that loop on its first
call (see asgi.py); without one (management commands, the WSGI test client) nobody can be
listening, so publishing is skipped.
"""

import asyncio
from collections.abc import Coroutine

_loop: asyncio.AbstractEventLoop | None = None


def remember_running_loop() -> None:
    global _loop
    loop = asyncio.get_running_loop()
    if _loop is not loop:
        _loop = loop


def submit(coroutine: Coroutine) -> bool:
    """Run `coroutine` on the server loop from any thread; False if there is no loop."""
    loop = _loop
    if loop is None or loop.is_closed():
        coroutine.close()
        return False
    try:
        asyncio.run_coroutine_threadsafe(coroutine, loop)
    except RuntimeError:
        coroutine.close()
        return False
    return True


class RememberLoop:
    """ASGI middleware: note the loop requests arrive on, then pass through."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        remember_running_loop()
        return await self.app(scope, receive, send)
