from django.db import models


class Container(models.Model):
    """Not stored: containers live in the engine. This model only carries the permissions
    that roles are built from (assign them to groups in the admin)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_container", "Can see containers, their settings and logs"),
            ("view_env", "Can see containers' environment values (secrets; each read is audited)"),
            ("operate_container", "Can start, stop, restart, pause and kill containers"),
            ("create_container", "Can run new containers"),
            ("remove_container", "Can remove containers"),
            # A terminal is a shell inside the container: in no role by default.
            ("open_terminal", "Can open a terminal in containers"),
        ]

    def __str__(self) -> str:
        return "container"
