"""The roles a portal comes with: Django groups, created by this app's data migration.

Administrators are superusers (everything). Viewer and Operator are groups an administrator
assigns on Users & roles (the Django admin); they may be edited there like any group. What
no role holds: seeing environment values (containers.view_env) and reading volume files
(volumes.read_volume_files) — secrets, given to people one by one, every read audited — and
host access, which the host-access policy keeps for administrators whatever the group.
"""

VIEWER = (
    "containers.view_container",
    "images.view_image",
    "volumes.view_volume",
    "networks.view_network",
    "jobs.view_job",
    "audit.view_auditentry",
    "swarm.view_swarm",
)

OPERATOR = (
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
    "swarm.create_service",
    "swarm.change_service",
    "swarm.remove_service",
)

ROLES = {"Viewer": VIEWER, "Operator": OPERATOR}


def install_roles(apps, roles: dict[str, tuple[str, ...]]) -> None:
    """Create the groups of `roles` with their permissions (idempotent; adds, never removes).

    `apps` is a migration's app registry or django.apps.apps. Permissions are made first:
    Django only creates them after all migrations ran, and a fresh database needs them now.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions skips apps without a models module, which is what a migration's
        # historical app configs look like; the real ones keep theirs.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = original
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, permissions in roles.items():
        group, _ = group_model.objects.get_or_create(name=name)
        for permission in permissions:
            app_label, codename = permission.split(".")
            group.permissions.add(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
