"""Running jobs in their own threads, reporting progress to watchers, recording outcomes.

A job's work function gets a `Reporter`; it runs in a dedicated thread (engine streams
block) and keeps running when every watcher has gone. Progress is coalesced: watchers get
at most one update per FLUSH_INTERVAL however fast the engine reports, and what came within
that interval goes out when it is over (a timer), not with whatever the engine says next.
New output lines are saved before they are sent (late watchers read the record); progress
alone is saved every SAVE_INTERVAL.
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
from django.db import close_old_connections, connection
from django.utils import timezone

from dockerweb import engines, gateway
from dockerweb.main_loop import submit
from dockerweb.threads import start_thread
from jobs.groups import job_group, jobs_list_group
from jobs.models import Job

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.2  # seconds: at most 5 updates a second to each watcher
# Progress alone (a pull's bytes) is saved at most this often. New output lines are saved
# before they are sent: a watcher joins the group, then reads the record, so every line is in
# one or the other (twice at worst, which the line numbers sort out), never in neither.
SAVE_INTERVAL = 2.0
# With several portal processes (REDIS_URL) a job whose process stopped vouching for it for
# STALE_AFTER is interrupted; each process looks every REAP_INTERVAL while someone watches
# jobs there, so a process killed outright shows within STALE_AFTER + REAP_INTERVAL (+ one beat).
HEARTBEAT_INTERVAL = 5.0
STALE_AFTER = timedelta(seconds=20)
REAP_INTERVAL = 5.0
INTERRUPTED_ERROR = (
    "The portal process running this job stopped while it ran; its outcome is unknown."
)
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
        self._lines_total = 0  # lines reported so far (the output keeps the last of them)
        self._output: list[str] = []
        self._output_size = 0
        self._last_flush = 0.0
        self._last_save = 0.0
        self._flushing = threading.Lock()  # one flush at a time: updates leave in order
        self._timer: threading.Timer | None = None  # the flush of what is still waiting
        self._ended = False  # the last update (finished) went out: nothing follows it

    def progress(self, snapshot: dict) -> None:
        with self._lock:
            self._progress = snapshot
        self._maybe_flush()

    def line(self, text: str) -> None:
        with self._lock:
            self._new_lines.append(text)
            self._lines_total += 1
            self._output.append(text)
            self._output_size += len(text) + 1
            while self._output_size > OUTPUT_LIMIT and len(self._output) > 1:
                self._output_size -= len(self._output.pop(0)) + 1
        self._maybe_flush()

    @property
    def output(self) -> str:
        return self.saved_output()[0]

    def saved_output(self) -> tuple[str, int]:
        """(the output's kept tail, the number of lines reported up to its end)."""
        with self._lock:
            return "\n".join(self._output), self._lines_total

    def _maybe_flush(self) -> None:
        wait = self._last_flush + FLUSH_INTERVAL - time.monotonic()
        if wait <= 0:
            self.flush()
            return
        # Within the interval: sent when it is over. A build step's last line before a long
        # RUN would otherwise wait for the step's next output, however late.
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(wait, self._timed_flush)
                self._timer.daemon = True
                self._timer.start()

    def _timed_flush(self) -> None:
        try:
            self.flush()
        finally:
            connection.close()  # the timer's thread had its own

    def current_progress(self) -> dict:
        with self._lock:
            return self._progress

    def flush(self, *, save: bool = True, **final) -> None:
        """Send what changed to watchers, after saving it when it holds new lines (progress
        alone: every SAVE_INTERVAL)."""
        with self._flushing:
            self._flush(save, final)

    def _flush(self, save: bool, final: dict) -> None:
        now = time.monotonic()
        with self._lock:
            if self._timer is not None:  # this flush sends what it was waiting for
                self._timer.cancel()
                self._timer = None
            if self._ended:
                return
            self._ended = bool(final.get("finished"))
            lines, self._new_lines = self._new_lines[-LINES_PER_UPDATE:], []
            progress, total = self._progress, self._lines_total
            output = "\n".join(self._output)
        self._last_flush = now
        if save and (lines or now - self._last_save >= SAVE_INTERVAL):
            self._last_save = now
            Job.objects.filter(pk=self.job.pk).update(
                progress=progress, output=output, lines_total=total
            )
        payload = {
            "type": "job",
            "id": str(self.job.id),
            "status": self.job.status,
            "progress": progress,
            "lines": lines,
            # The number of the first of `lines` (0-based, over every line reported): a
            # watcher skips what its snapshot already held.
            "first_line": total - len(lines),
            **final,
        }
        publish(job_group(self.job.id), payload)


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
    job.output, job.lines_total = reporter.saved_output()
    job.progress = reporter.current_progress()
    job.save(
        update_fields=[
            "status",
            "error",
            "result",
            "finished_at",
            "output",
            "lines_total",
            "progress",
        ]
    )
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
            "lines_total": job.lines_total,
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
