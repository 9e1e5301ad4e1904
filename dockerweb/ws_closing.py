"""Sends to a websocket that is already closing are dropped, not raised into the consumer.

Between the browser's close frame and the connection's end, Daphne (autobahn underneath)
refuses a send with `Disconnected("Attempt to send on a closed protocol")`. A consumer that
happened to send then — a live patch, a log line — died with that error, so its
`disconnect()` never ran: its groups, its live model subscription and the rest of its
clean-up were left behind, and the server logged "Exception inside application".

The page is gone either way, so the send is simply dropped; the disconnect message that
follows reaches the consumer as on any other close.
"""

import logging

from autobahn.exception import Disconnected  # Daphne's websocket protocol

log = logging.getLogger(__name__)


class DropSendsToClosingSockets:
    """ASGI middleware for websocket scopes."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_unless_closing(message):
            try:
                await send(message)
            except Disconnected:
                log.debug("dropped %s to a closing websocket %s", message["type"], scope["path"])

        return await self.app(scope, receive, send_unless_closing)
