from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what to which Docker object, and how it went. Never edited, only added."""

    class Outcome(models.TextChoices):
        OK = "ok", "Succeeded"
        FAILED = "failed", "Failed"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the record survives the user's deletion.
    username = models.CharField(max_length=150)
    # The engine the action was on; blank for what concerns no engine (users, engines).
    engine = models.SlugField(max_length=40, blank=True, db_index=True)
    action = models.CharField(max_length=64)  # container.stop, container.run…
    target_type = models.CharField(max_length=32)
    target_id = models.CharField(max_length=128, blank=True)
    target_name = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target_name or self.target_id}"
