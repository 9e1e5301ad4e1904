"""Who may work with which engine, and with which permissions there.

- Administrators (superusers) use every engine with every permission.
- Roles given under Users & roles (Django groups) and permissions given to a user directly
  hold on every engine: how the portal worked with one engine, and still the simple case.
- A role given on some engines only is an EngineGrant (engine name, user, role): the team of
  one site holds its roles on its engines and sees no other. `EngineGrantBackend` adds the
  permissions of the roles granted on the current engine (`engines.current()`, set from the
  URL for every request and socket) to `user.has_perm`, so every view and consumer that asks
  `has_perm` is judged per engine without knowing about engines.
"""

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import Permission

from dockerweb import engines


def _cache(user) -> dict:
    return user.__dict__.setdefault("_dockerweb_engine_access", {})


def holds_global_roles(user) -> bool:
    """A role (or permission) for every engine: group membership or a direct permission."""
    cache = _cache(user)
    if "global" not in cache:
        cache["global"] = user.groups.exists() or user.user_permissions.exists()
    return cache["global"]


def granted_engines(user) -> set[str]:
    from engines.models import EngineGrant

    cache = _cache(user)
    if "granted" not in cache:
        cache["granted"] = set(
            EngineGrant.objects.filter(user=user).values_list("engine", flat=True)
        )
    return cache["granted"]


def may_use(user, name: str) -> bool:
    """Whether `user` may see engine `name` at all (pages, sockets, the switcher)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or holds_global_roles(user):
        return True
    return name in granted_engines(user)


def usable_engines(user) -> list[str]:
    return [name for name in engines.names() if may_use(user, name)]


class EngineGrantBackend(BaseBackend):
    """The permissions of the roles `user` was granted on the current engine."""

    def get_all_permissions(self, user_obj, obj=None):
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        name = engines.current_name()
        cache = _cache(user_obj).setdefault("permissions", {})
        if name not in cache:
            cache[name] = (
                {
                    f"{app_label}.{codename}"
                    for app_label, codename in Permission.objects.filter(
                        group__in=_granted_roles(user_obj, name)
                    ).values_list("content_type__app_label", "codename")
                }
                if name in granted_engines(user_obj)
                else set()
            )
        return cache[name]

    def has_perm(self, user_obj, perm, obj=None):
        return perm in self.get_all_permissions(user_obj, obj)


def _granted_roles(user, name: str):
    from engines.models import EngineGrant

    return EngineGrant.objects.filter(user=user, engine=name).values("role")
