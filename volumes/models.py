from django.db import models


class Volume(models.Model):
    """Not stored: volumes live in the engine. This model only carries the permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_volume", "Can see volumes"),
            (
                "read_volume_files",
                "Can browse, read and download files in volumes (each read is audited)",
            ),
            ("create_volume", "Can create volumes"),
            ("remove_volume", "Can remove and prune volumes"),
        ]

    def __str__(self) -> str:
        return "volume"
