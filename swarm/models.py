from django.db import models


class Swarm(models.Model):
    """Not stored: the swarm lives in the engine. This model only carries the permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_swarm", "Can see swarm nodes, services, their tasks and logs"),
            ("create_service", "Can create swarm services"),
            ("change_service", "Can scale, update and roll back swarm services"),
            ("remove_service", "Can remove swarm services"),
            ("manage_node", "Can change a swarm node's availability and labels"),
        ]

    def __str__(self) -> str:
        return "swarm"
