"""Which stored credentials a pull or push uses."""

from dockerweb.gateway.images import registry_of
from images.models import Registry


def auth_for(reference: str) -> dict | None:
    """The login for the registry `reference` lives in, if an admin stored one."""
    registry = Registry.objects.filter(address=registry_of(reference)).first()
    return registry.auth_config() if registry else None
