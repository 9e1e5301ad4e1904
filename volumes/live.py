"""What pages receive when a volume appears or goes away."""

# Volume actions that change the list (mount/unmount don't: users come from containers).
LIST_ACTIONS = {"create", "destroy", "prune"}


async def describe_volume_event(event) -> dict | None:
    if event.action not in LIST_ACTIONS:
        return None
    return {"type": "volume", "action": event.action, "name": event.id}
