import uuid

from django.conf import settings
from django.db import models


class Job(models.Model):
    """Long engine work (pull, build, push, prune) that runs outside the request that started it.

    Anyone allowed can watch it live; the outcome and a bounded tail of its output stay here,
    so a closed tab loses nothing.
    """

    class Kind(models.TextChoices):
        PULL = "pull", "Pull"
        BUILD = "build", "Build"
        PUSH = "push", "Push"
        PRUNE = "prune", "Prune"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.INTERRUPTED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The engine it runs on (dockerweb.engines: a name, as in URLs).
    engine = models.SlugField(max_length=40, default="local", db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=300)  # "Pull busybox:latest"
    params = models.JSONField(default=dict)  # never holds secrets
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_name = models.CharField(max_length=150)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Which portal process runs it, and when that process last said it still does.
    runner = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.JSONField(default=dict)  # the last progress snapshot, for late watchers
    output = models.TextField(blank=True)  # the last OUTPUT_LIMIT characters
    # How many lines the job had reported when `output` was saved (its tail ends at that
    # line): a watcher joining late numbers the live lines that follow from it.
    lines_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict)  # e.g. {"image_id": "sha256:…", "tags": [...]}

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration(self):
        end = self.finished_at
        return (end - self.created_at) if end else None
