"""The Viewer role sees the swarm; the Operator also creates, changes and removes services
(roles/definitions.py). Frozen here as written: a later change is a new migration."""

from django.db import migrations

ADDED = {
    "Viewer": ("swarm.view_swarm",),
    "Operator": (
        "swarm.view_swarm",
        "swarm.create_service",
        "swarm.change_service",
        "swarm.remove_service",
    ),
}


def add_to_roles(apps, schema_editor):
    from roles.definitions import install_roles

    install_roles(apps, ADDED)


def remove_from_roles(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, permissions in ADDED.items():
        for group in group_model.objects.filter(name=name):
            group.permissions.remove(
                *permission_model.objects.filter(
                    content_type__app_label="swarm",
                    codename__in=[p.split(".")[1] for p in permissions],
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("swarm", "0001_initial"),
        ("roles", "0001_viewer_and_operator"),
    ]

    operations = [migrations.RunPython(add_to_roles, remove_from_roles)]
