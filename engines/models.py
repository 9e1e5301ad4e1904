"""Engines an administrator added on the Engines page, and roles given on some engines only.

Engines declared in the environment (DOCKERWEB_ENGINES) are not stored here: they come from
the deployment's configuration and are read again at start-up. Both kinds are addressed by
name everywhere (URLs, groups, jobs, audit entries, grants), so a grant made for an engine
of either kind reads the same.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class EngineConfig(models.Model):
    """How to reach one engine. TLS and SSH keys are stored encrypted (dockerweb.secret_box)."""

    name = models.SlugField(max_length=40, unique=True)
    # unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host[:port]
    address = models.CharField(max_length=300)
    # PEM text, encrypted; empty for a local socket or an SSH engine.
    tls_ca = models.TextField(blank=True)
    tls_cert = models.TextField(blank=True)
    tls_key = models.TextField(blank=True)
    # The SSH engine's private key (encrypted) and the host key it answered with when it
    # was verified (public, "ssh-ed25519 AAAA…"): later connections accept only that key.
    ssh_key = models.TextField(blank=True)
    ssh_host_key = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


class EngineGrant(models.Model):
    """`user` holds `role` (a Django group: Viewer, Operator, …) on the engine named
    `engine` only. Group membership (Users & roles) still gives a role on every engine."""

    engine = models.SlugField(max_length=40, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["engine", "user__username", "role__name"]
        constraints = [
            models.UniqueConstraint(fields=["engine", "user", "role"], name="one_grant_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role} on {self.engine}"
