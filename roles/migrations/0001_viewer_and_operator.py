"""Create the Viewer and Operator groups (see roles/definitions.py and the README's table).

The role table is frozen here as it was when this migration was written; a later change to
the roles is a new migration.
"""

from django.db import migrations

VIEWER = (
    "containers.view_container",
    "images.view_image",
    "volumes.view_volume",
    "networks.view_network",
    "jobs.view_job",
    "audit.view_auditentry",
)
ROLES = {
    "Viewer": VIEWER,
    "Operator": (
        *VIEWER,
        "containers.operate_container",
        "containers.create_container",
        "containers.remove_container",
        "images.pull_image",
        "images.build_image",
        "images.push_image",
        "images.remove_image",
        "volumes.create_volume",
        "volumes.remove_volume",
        "networks.create_network",
        "networks.remove_network",
        "networks.connect_network",
    ),
}


def create_roles(apps, schema_editor):
    from roles.definitions import install_roles

    install_roles(apps, ROLES)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0001_initial"),
        ("containers", "0002_secret_permissions"),
        ("images", "0001_initial"),
        ("jobs", "0001_initial"),
        ("networks", "0001_initial"),
        ("volumes", "0002_secret_permissions"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
