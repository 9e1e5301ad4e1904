"""Users for tests, as an admin would make them: named permissions or one of the roles."""

from django.contrib.auth.models import Group, Permission, User
from django.test import Client

PASSWORD = "users-test-pw-1"

# What an Operator holds in these tests when the point is not the role itself but a
# non-admin with every ordinary right (the attacker of issue 7).
OPERATOR_PERMISSIONS = (
    "containers.view_container",
    "containers.operate_container",
    "containers.create_container",
    "containers.remove_container",
    "images.view_image",
    "images.pull_image",
    "images.build_image",
    "images.push_image",
    "volumes.view_volume",
    "volumes.create_volume",
    "volumes.remove_volume",
    "networks.view_network",
    "jobs.view_job",
)


def make_user(username: str, *permissions: str, groups: tuple[str, ...] = ()) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def operator_client(username: str = "operator") -> Client:
    return client_for(make_user(username, *OPERATOR_PERMISSIONS))
