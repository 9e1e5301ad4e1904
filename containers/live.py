"""What pages receive when a container changes: its sidebar item and table row, rendered once."""

import asyncio

from containers import rendering
from dockerweb import gateway
from dockerweb.gateway.portal_helpers import is_portal_helper

# Container actions that change what the sidebar and table show (exec_*, attach… don't).
STATE_ACTIONS = {
    "create",
    "start",
    "restart",
    "stop",
    "die",
    "kill",
    "pause",
    "unpause",
    "rename",
    "update",
    "oom",
    "health_status",
}


def container_payload(summary) -> dict:
    return {
        "type": "container",
        "id": summary.id,
        "name": summary.name,
        "state": summary.state,
        "sidebar": rendering.sidebar_item(summary),
        "row": rendering.table_row(summary),
    }


async def describe_container_event(event) -> dict | None:
    # The portal's own volume helpers come and go unseen (their label verifies; see
    # gateway/portal_helpers.py); any other container carrying that label is shown.
    if is_portal_helper(event.attributes, event.attributes.get("name", "")):
        return None
    action = event.action.split(":", 1)[0]
    if action == "destroy":
        return {"type": "container", "id": event.id, "action": action, "removed": True}
    if action not in STATE_ACTIONS:
        return None
    summary = await asyncio.to_thread(gateway.containers.get_summary, event.id)
    if summary is None:  # gone again before we looked
        return {"type": "container", "id": event.id, "action": action, "removed": True}
    return {**container_payload(summary), "action": action}
