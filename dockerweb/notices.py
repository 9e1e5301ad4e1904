"""Brief notices of what a user did through the portal ("alice stopped web"), for the others
looking at the engine at the same moment.

The engine's event says what happened to a container, never who asked; the view that did
it knows. So the view announces it right after the engine answered, to the list group of
the object's kind: only sockets whose user may see that kind joined it (the live socket
checks each kind's view permission), so a notice never names an object to someone who may
not list it. Pages show notices of other users only (static/js/live.js).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dockerweb import engines
from dockerweb.groups import list_group
from dockerweb.live_model.publisher import live_message

log = logging.getLogger(__name__)

# Verb of the action → the past tense a notice says.
PAST_TENSE = {
    "start": "started",
    "stop": "stopped",
    "restart": "restarted",
    "pause": "paused",
    "unpause": "resumed",
    "kill": "killed",
    "remove": "removed",
}


def notice_payload(username: str, action: str, kind: str, object_id: str, name: str) -> dict:
    verb = PAST_TENSE.get(action, action)
    return {
        "type": "notice",
        "user": username,
        "action": action,
        "kind": kind,
        "id": object_id,
        "text": f"{username} {verb} {name}",
    }


def announce(user, action: str, *, kind: str, object_id: str, name: str) -> None:
    """Tell the live sockets of everyone allowed to list `kind` that `user` did `action`.
    A notice is a courtesy: failing to send one never fails the action."""
    layer = get_channel_layer()
    if layer is None:
        return
    payload = notice_payload(user.get_username(), action, kind, object_id, name)
    try:
        group = list_group(kind, engines.current().name)
        async_to_sync(layer.group_send)(group, live_message(payload))
    except Exception:  # noqa: BLE001 - the action is done; only the courtesy is lost
        log.warning("Could not send the notice %r", payload["text"], exc_info=True)
