"""Jobs: progress snapshots from engine messages, coalesced updates, honest "running"."""

import time

import pytest

from dockerweb.gateway.images import ProgressEvent
from images.progress import LayerProgress
from jobs import runner
from jobs.models import Job
from tests.engine import wait_for


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


@pytest.mark.django_db(transaction=True)  # the reporter's timer saves with its own connection
def test_output_kept_in_the_record_is_bounded():
    job = Job.objects.create(kind="build", title="Build x", started_by_name="t")
    reporter = runner.Reporter(job)
    for i in range(20_000):
        reporter.line(f"line {i} " + "x" * 40)
    reporter.flush(save=False, finished=True)
    assert len(reporter.output) <= runner.OUTPUT_LIMIT
    assert reporter.output.endswith("line 19999 " + "x" * 40)


@pytest.mark.django_db(transaction=True)  # the reporter's timer saves with its own connection
def test_a_line_within_the_interval_goes_out_without_waiting_for_the_next(monkeypatch):
    sent = []
    monkeypatch.setattr(runner, "publish", lambda group, payload: sent.append(payload))
    job = Job.objects.create(kind="build", title="Build x", started_by_name="t")
    reporter = runner.Reporter(job)
    reporter.line("Step 2/3 : RUN echo live-1 && sleep 600")  # sent at once
    reporter.line("live-1")  # then nothing for ten minutes
    try:
        wait_for(
            lambda: any("live-1" in payload["lines"] for payload in sent),
            timeout=5,
            message="live-1 to be sent without a line after it",
        )
    finally:
        reporter.flush(save=False, finished=True)
    assert [line for payload in sent for line in payload["lines"]] == [
        "Step 2/3 : RUN echo live-1 && sleep 600",
        "live-1",
    ]


@pytest.mark.django_db(transaction=True)  # the reporter's timer saves with its own connection
def test_every_line_sent_is_already_in_the_record_a_late_watcher_reads(monkeypatch):
    """A watcher joins the job's group, then reads the record: a line sent before it joined
    must be in that record, or the watcher never sees it."""
    job = Job.objects.create(kind="build", title="Build x", started_by_name="t")
    seen = []

    def publish(group, payload):
        if "lines" in payload:  # not the jobs list's "started/ended"
            record = Job.objects.get(pk=job.pk)
            seen.append((payload["first_line"], payload["lines"], record))

    monkeypatch.setattr(runner, "publish", publish)
    reporter = runner.Reporter(job)
    for i in range(30):  # output as a build gives it, a line every 50 ms
        reporter.line(f"line {i}")
        time.sleep(0.05)
    runner._finish(job, reporter, Job.Status.SUCCEEDED)
    sent = [line for _, lines, _ in seen for line in lines]
    assert sent == [f"line {i}" for i in range(30)]
    for first, lines, record in seen:
        if lines:
            assert record.lines_total == first + len(lines), (first, lines, record.lines_total)
            assert record.output.split("\n")[-len(lines) :] == lines


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
