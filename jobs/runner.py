"""Running jobs in their own threads, reporting progress to watchers, recording outcomes.

A job's work function gets a `Reporter`; it runs in a dedicated thread (engine streams
block) and keeps running when every watcher has gone. Progress is coalesced: watchers get
at most one update per FLUSH_INTERVAL however fast the engine reports, and the database
copy (for late watchers and the record) is refreshed every SAVE_INTERVAL.
"""

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from dockerweb import engines, gateway
from dockerweb.main_loop import submit
from dockerweb.threads import start_thread
from jobs.groups import job_group, jobs_list_group
from jobs.models import Job

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.2  # seconds: at most 5 updates a second to each watcher
SAVE_INTERVAL = 2.0
# With several portal processes (REDIS_URL) a job whose process stopped vouching for it for
# STALE_AFTER is interrupted; each process looks every REAP_INTERVAL while someone watches
# jobs there, so a process killed outright shows within STALE_AFTER + REAP_INTERVAL (+ one beat).
HEARTBEAT_INTERVAL = 5.0
STALE_AFTER = timedelta(seconds=20)
REAP_INTERVAL = 5.0
INTERRUPTED_ERROR = "The portal stopped while this job ran; its outcome is unknown."
OUTPUT_LIMIT = 64 * 1024
LINES_PER_UPDATE = 500

# This process, as recorded on the jobs it runs.
RUNNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobFailed(Exception):
    """Raised by work functions: the job failed for the reason given (the engine's words)."""


class Reporter:
    """What a work function uses to report: a progress snapshot and output lines."""

    def __init__(self, job: Job):
        self.job = job
        self._lock = threading.Lock()
        self._progress: dict = {}
        self._new_lines: list[str] = []
        self._output: list[str] = []
        self._output_size = 0
        self._last_flush = 0.0
        self._last_save = 0.0

    def progress(self, snapshot: dict) -> None:
        with self._lock:
            self._progress = snapshot
        self._maybe_flush()

    def line(self, text: str) -> None:
        with self._lock:
            self._new_lines.append(text)
            self._output.append(text)
            self._output_size += len(text) + 1
            while self._output_size > OUTPUT_LIMIT and len(self._output) > 1:
                self._output_size -= len(self._output.pop(0)) + 1
        self._maybe_flush()

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self._output)

    def _maybe_flush(self) -> None:
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL:
            self.flush()

    def current_progress(self) -> dict:
        with self._lock:
            return self._progress

    def flush(self, *, save: bool = True, **final) -> None:
        """Send what changed to watchers (and to the database every SAVE_INTERVAL)."""
        now = time.monotonic()
        with self._lock:
            lines, self._new_lines = self._new_lines[-LINES_PER_UPDATE:], []
            progress = self._progress
        self._last_flush = now
        payload = {
            "type": "job",
            "id": str(self.job.id),
            "status": self.job.status,
            "progress": progress,
            "lines": lines,
            **final,
        }
        publish(job_group(self.job.id), payload)
        if save and now - self._last_save >= SAVE_INTERVAL:
            self._last_save = now
            Job.objects.filter(pk=self.job.pk).update(progress=progress, output=self.output)


def publish(group: str, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        submit(layer.group_send(group, {"type": "live.message", "payload": payload}))


def _announce(job: Job) -> None:
    """Tell the jobs list pages that a job started or finished."""
    publish(jobs_list_group(), {"type": "job-listed", "id": str(job.id), "status": job.status})


Work = Callable[[Reporter], dict | None]


def start_job(*, kind: str, title: str, params: dict, user, work: Work) -> Job:
    """Record a job and run `work(reporter)` in its own thread; returns at once.

    `work` returns the result dict, or raises JobFailed / GatewayError with the reason.
    """
    job = Job.objects.create(
        engine=engines.current_name(),
        kind=kind,
        title=title[:300],
        params=params,
        started_by=user if getattr(user, "pk", None) else None,
        started_by_name=getattr(user, "username", "") or "system",
        runner=RUNNER,
        heartbeat_at=timezone.now(),
    )
    _ensure_heartbeat()
    # In a copy of this context: the job works on the engine it was started on.
    start_thread(_run, job, work, name=f"job-{job.kind}-{job.pk}")
    _announce(job)
    return job


def _run(job: Job, work: Work) -> None:
    reporter = Reporter(job)
    try:
        result = work(reporter) or {}
    except (JobFailed, gateway.GatewayError) as exc:
        _finish(job, reporter, Job.Status.FAILED, error=str(exc))
    except Exception as exc:  # a bug must still end the job, not leave it "running"
        log.exception("job %s crashed", job.pk)
        _finish(job, reporter, Job.Status.FAILED, error=f"Internal error: {exc}")
    else:
        _finish(job, reporter, Job.Status.SUCCEEDED, result=result)
    finally:
        close_old_connections()


def _finish(job: Job, reporter: Reporter, status: str, *, error: str = "", result=None) -> None:
    job.status = status
    job.error = error
    job.result = result or {}
    job.finished_at = timezone.now()
    job.output = reporter.output
    job.progress = reporter.current_progress()
    job.save(update_fields=["status", "error", "result", "finished_at", "output", "progress"])
    # The whole (bounded) output goes with the last update: a watcher who joined between the
    # save above and this message must not see the last lines twice.
    reporter.flush(save=False, error=error, result=job.result, finished=True, output=job.output)
    _announce(job)


# -- keeping "running" honest -----------------------------------------------------------------

_heartbeat_started = threading.Lock()
_heartbeat_thread: threading.Thread | None = None


def _ensure_heartbeat() -> None:
    global _heartbeat_thread
    with _heartbeat_started:
        if _heartbeat_thread is None or not _heartbeat_thread.is_alive():
            _heartbeat_thread = threading.Thread(target=_beat, name="jobs-heartbeat", daemon=True)
            _heartbeat_thread.start()


def _beat() -> None:
    while True:
        time.sleep(HEARTBEAT_INTERVAL)
        try:
            running = Job.objects.filter(runner=RUNNER, status=Job.Status.RUNNING)
            if running.update(heartbeat_at=timezone.now()) == 0:
                return  # nothing left to vouch for; restarted with the next job
        except Exception:  # the database may be briefly locked: try again next beat
            log.exception("job heartbeat failed")
        finally:
            # Nor may a connection that can't be checked end the heartbeat for good.
            with contextlib.suppress(Exception):
                close_old_connections()


def mark_interrupted() -> int:
    """Jobs whose process is gone are interrupted, not "running" forever; their watchers
    (on any process) are told at once.

    With one portal process (the in-memory channel layer) every running job of another
    process died with it. With several (REDIS_URL), a job is given up once its process
    stopped vouching for it.
    """
    running = Job.objects.filter(status=Job.Status.RUNNING).exclude(runner=RUNNER)
    if getattr(settings, "REDIS_URL", ""):
        running = running.filter(heartbeat_at__lt=timezone.now() - STALE_AFTER)
    # Read first: an UPDATE takes SQLite's write lock even when it matches nothing, and this
    # runs on every jobs page while job threads write their progress.
    given_up = list(running.values_list("pk", flat=True)[:1000])
    marked = 0
    for job_id in given_up:
        # One by one, still "running": of two processes looking at once, one marks and tells.
        if Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
            status=Job.Status.INTERRUPTED, finished_at=timezone.now(), error=INTERRUPTED_ERROR
        ):
            marked += 1
            _tell_interrupted(Job.objects.get(pk=job_id))
    return marked


def _tell_interrupted(job: Job) -> None:
    publish(
        job_group(job.pk),
        {
            "type": "job",
            "id": str(job.pk),
            "status": job.status,
            "progress": job.progress,
            "lines": [],
            "error": job.error,
            "result": job.result,
            "finished": True,
            "output": job.output,
        },
    )
    _announce(job)


_reaper_started = threading.Lock()
_reaper_thread: threading.Thread | None = None


def ensure_reaper() -> None:
    """Someone watches jobs on this process: with several processes, look for jobs of dead
    ones every REAP_INTERVAL from now on, so they see "Interrupted" live, not on reload."""
    global _reaper_thread
    if not getattr(settings, "REDIS_URL", ""):
        return  # one process: its old jobs are marked when it starts serving jobs pages
    with _reaper_started:
        if _reaper_thread is None or not _reaper_thread.is_alive():
            _reaper_thread = threading.Thread(target=_reap, name="jobs-reaper", daemon=True)
            _reaper_thread.start()


def _reap() -> None:
    while True:
        try:
            mark_interrupted()
        except Exception:  # the database may be briefly unreachable: try again next round
            log.exception("looking for interrupted jobs failed")
        finally:
            with contextlib.suppress(Exception):
                close_old_connections()
        time.sleep(REAP_INTERVAL)
