"""What pages receive when an image appears, gets a tag, loses one or goes away."""

# Image actions that change the image list (push, save and inspect-like ones don't).
LIST_ACTIONS = {"pull", "tag", "untag", "delete", "import", "load", "prune"}


async def describe_image_event(event) -> dict | None:
    action = event.action.split(":", 1)[0]
    if action not in LIST_ACTIONS:
        return None
    return {
        "type": "image",
        "action": action,
        "id": event.id,
        "name": event.attributes.get("name", ""),
    }
