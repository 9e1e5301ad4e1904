"""Jobs: progress snapshots from engine messages, coalesced updates, honest "running"."""

import time

import pytest

from dockerweb.gateway.images import ProgressEvent
from images.progress import LayerProgress
from jobs import runner
from jobs.models import Job


def test_a_layer_goes_from_downloading_to_extracting_to_done():
    progress = LayerProgress()
    progress.feed(ProgressEvent(status="Pulling from dwtest/img", id="1"))
    progress.feed(ProgressEvent(id="aaa", status="Pulling fs layer"))
    progress.feed(ProgressEvent(id="bbb", status="Already exists"))
    progress.feed(ProgressEvent(id="aaa", status="Downloading", current=50, total=100))
    assert progress.snapshot()["layers"]["aaa"]["percent"] == 25
    progress.feed(ProgressEvent(id="aaa", status="Download complete"))
    progress.feed(ProgressEvent(id="aaa", status="Extracting", current=100, total=100))
    snapshot = progress.snapshot()
    assert snapshot["layers"]["aaa"]["percent"] == 100
    assert snapshot["layers"]["bbb"]["percent"] == 100
    assert snapshot["order"] == ["aaa", "bbb"]
    assert snapshot["overall"]["percent"] == 100
    assert snapshot["status"].startswith("Pulling from")


def test_overall_is_the_mean_of_the_layers():
    progress = LayerProgress()
    progress.feed(ProgressEvent(id="a", status="Pull complete"))
    progress.feed(ProgressEvent(id="b", status="Waiting"))
    assert progress.snapshot()["overall"]["percent"] == 50


@pytest.mark.django_db
def test_the_reporter_sends_at_most_a_few_updates_a_second(monkeypatch):
    sent = []
    monkeypatch.setattr(runner, "publish", lambda group, payload: sent.append(payload))
    job = Job.objects.create(kind="pull", title="Pull x", started_by_name="t")
    reporter = runner.Reporter(job)
    started = time.monotonic()
    for i in range(20_000):  # an engine flooding progress messages
        reporter.progress({"overall": {"percent": i % 100}})
    elapsed = time.monotonic() - started
    assert len(sent) <= elapsed / runner.FLUSH_INTERVAL + 2


@pytest.mark.django_db
def test_output_kept_in_the_record_is_bounded():
    job = Job.objects.create(kind="build", title="Build x", started_by_name="t")
    reporter = runner.Reporter(job)
    for i in range(20_000):
        reporter.line(f"line {i} " + "x" * 40)
    assert len(reporter.output) <= runner.OUTPUT_LIMIT
    assert reporter.output.endswith("line 19999 " + "x" * 40)


@pytest.mark.django_db(transaction=True)  # the job's thread writes with its own connection
def test_a_failed_job_records_the_engines_reason():
    def work(reporter):
        reporter.line("about to fail")
        raise runner.JobFailed("registry said no")

    job = runner.start_job(kind="pull", title="Pull x", params={}, user=None, work=work)
    from tests.engine import wait_for

    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=10, message="the job to end")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "registry said no"
    assert "about to fail" in job.output


@pytest.mark.django_db
def test_jobs_of_a_stopped_portal_are_marked_interrupted_not_running():
    gone = Job.objects.create(kind="pull", title="Pull x", started_by_name="t", runner="old:1:x")
    mine = Job.objects.create(
        kind="pull", title="Pull y", started_by_name="t", runner=runner.RUNNER
    )
    assert runner.mark_interrupted() == 1
    gone.refresh_from_db()
    mine.refresh_from_db()
    assert gone.status == Job.Status.INTERRUPTED and gone.finished_at and gone.error
    assert mine.status == Job.Status.RUNNING
