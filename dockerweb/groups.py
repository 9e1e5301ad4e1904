"""Channel-layer group names, one function per kind (never built from raw references).

The live model publishes each change to the group of the object it concerns and to the
group of its list, so a socket joins only what its page shows: a container's page (logs,
header) joins `container_group(id)`; a page showing the container table or sidebar joins
`list_group("container")`. Engine up/down goes to `engine_events_group()`.
"""

LOCAL_ENGINE = "local"


def engine_events_group(engine_id: str = LOCAL_ENGINE) -> str:
    """Everyone watching live state of one engine (engine up/down, resync requests)."""
    return f"engine-events.{engine_id}"


def container_group(container_id: str, engine_id: str = LOCAL_ENGINE) -> str:
    """Everyone watching one container (its full id): its page's header, logs, stats."""
    return f"container.{engine_id}.{container_id}"


def list_group(kind: str, engine_id: str = LOCAL_ENGINE) -> str:
    """Everyone showing a list of one kind of object: container, image, volume, network."""
    return f"list.{engine_id}.{kind}"
