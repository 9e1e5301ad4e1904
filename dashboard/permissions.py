"""Who sees the dashboard, and who may prune what from it."""

from functools import wraps

from django.core.exceptions import PermissionDenied

# Seeing any kind of engine object is enough to see the engine: each panel then shows what
# its own permission allows (the counts of containers only to those who see containers…).
VIEW_ANY = (
    "containers.view_container",
    "images.view_image",
    "volumes.view_volume",
    "networks.view_network",
)
VIEW_CONTAINERS = "containers.view_container"
PRUNE_CONTAINERS = "containers.remove_container"
# Build cache belongs to image builds: pruning it is an image removal.
PRUNE_BUILD_CACHE = "images.remove_image"
PRUNE_IMAGES = "images.remove_image"
PRUNE_VOLUMES = "volumes.remove_volume"


def may_view(user) -> bool:
    return any(user.has_perm(permission) for permission in VIEW_ANY)


def view_any_required(view):
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not may_view(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked
