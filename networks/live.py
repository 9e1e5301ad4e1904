"""What pages receive when a network appears, goes, or gains or loses a container."""

LIST_ACTIONS = {"create", "destroy", "remove", "connect", "disconnect", "prune"}


async def describe_network_event(event) -> dict | None:
    if event.action not in LIST_ACTIONS:
        return None
    return {
        "type": "network",
        "action": event.action,
        "id": event.id,
        "name": event.attributes.get("name", ""),
    }
