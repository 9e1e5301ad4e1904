"""Channel-layer group names, one function per kind (never built from raw references)."""

LOCAL_ENGINE = "local"


def engine_events_group(engine_id: str = LOCAL_ENGINE) -> str:
    """Everyone watching live state of one engine."""
    return f"engine-events.{engine_id}"
