from django.db import models

from dockerweb import secret_box


class Image(models.Model):
    """Not stored: images live in the engine. This model only carries the permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_image", "Can see images"),
            ("pull_image", "Can pull images"),
            ("build_image", "Can build images"),
            ("push_image", "Can tag and push images"),
            ("remove_image", "Can untag, remove and prune images"),
        ]

    def __str__(self) -> str:
        return "image"


class Registry(models.Model):
    """A private registry and the credentials pulls and pushes to it use.

    The secret is stored encrypted and never sent back to a browser.
    """

    address = models.CharField(
        max_length=255, unique=True, help_text="host[:port] as it appears in image names"
    )
    username = models.CharField(max_length=255)
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "registries"
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = secret_box.encrypt(secret)

    def auth_config(self) -> dict:
        """What the engine needs to log in for one pull or push."""
        return {
            "username": self.username,
            "password": secret_box.decrypt(self.secret_encrypted),
            "serveraddress": self.address,
        }
