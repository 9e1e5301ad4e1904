from django.db import models


class Network(models.Model):
    """Not stored: networks live in the engine. This model only carries the permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_network", "Can see networks"),
            ("create_network", "Can create networks"),
            ("remove_network", "Can remove networks"),
            ("connect_network", "Can connect and disconnect containers to networks"),
        ]

    def __str__(self) -> str:
        return "network"
