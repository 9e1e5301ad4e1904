"""Images, as far as the run form needs them (the images app grows this)."""

from .client import api, translate_errors
from .errors import NotFound


def list_image_references() -> list[str]:
    """Every `repository:tag` on the engine, sorted; one GET /images/json.

    Raises EngineUnavailable.
    """
    with translate_errors():
        items = api().images()
    refs = {tag for item in items for tag in item.get("RepoTags") or () if tag != "<none>:<none>"}
    return sorted(refs)


def image_exists(reference: str) -> bool:
    """Whether the engine has this image locally. Raises EngineUnavailable."""
    try:
        with translate_errors():
            api().inspect_image(reference)
    except NotFound:
        return False
    return True
