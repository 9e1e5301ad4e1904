"""A socket closed by the browser while the portal is still sending to it.

Between the browser's close frame and the connection's end, Daphne refuses sends with
autobahn's `Disconnected("Attempt to send on a closed protocol")`. A consumer caught sending
then died with that error, so its `disconnect()` never ran (seen in CI's portal log as
"Exception inside application"). dockerweb/ws_closing.py drops such a send instead.

The window is a few milliseconds of Daphne's own scheduling: a real socket did not hit it on
demand (a client that stops reading, fills the portal's send buffer and then closes did not),
so the refusal is Daphne's exception class raised by the send the middleware wraps.
"""

import pytest
from autobahn.exception import Disconnected

from dockerweb.ws_closing import DropSendsToClosingSockets


def closing_socket():
    """An ASGI send of a socket the browser is closing, and what reached it."""
    sent = []

    async def send(message):
        if message["type"] == "websocket.send":
            raise Disconnected("Attempt to send on a closed protocol")
        sent.append(message)

    return send, sent


@pytest.mark.asyncio
async def test_a_send_to_a_closing_socket_is_dropped_and_the_consumer_goes_on():
    steps = []

    async def consumer(scope, receive, send):
        await send({"type": "websocket.send", "text": "a live patch"})
        steps.append("after the send")
        await send({"type": "websocket.close", "code": 1000})
        steps.append("clean-up ran")
        return "ended"

    send, sent = closing_socket()
    app = DropSendsToClosingSockets(consumer)
    assert (
        await app({"type": "websocket", "path": "/engines/local/ws/live/"}, None, send) == "ended"
    )
    assert steps == ["after the send", "clean-up ran"]
    assert sent == [{"type": "websocket.close", "code": 1000}]


@pytest.mark.asyncio
async def test_other_errors_of_a_send_still_reach_the_consumer():
    async def send(message):
        raise ValueError("Message has no type defined")

    async def consumer(scope, receive, send):
        await send({"text": "no type"})

    app = DropSendsToClosingSockets(consumer)
    with pytest.raises(ValueError, match="no type"):
        await app({"type": "websocket", "path": "/engines/local/ws/live/"}, None, send)


def test_every_websocket_passes_through_it():
    from dockerweb.asgi import application

    websocket_app = application.app.application_mapping["websocket"]
    assert isinstance(websocket_app, DropSendsToClosingSockets)
