"""The dashboard: the engine's facts, live counts, top containers, disk usage that never
holds the page, and prunes that remove exactly what was confirmed."""

import re
import threading
import time

import pytest

from audit.models import AuditEntry
from dashboard import facts as engine_facts
from dashboard.prune import _unambiguous
from dashboard.sampler import Running, Sampler
from dockerweb import engines, gateway
from dockerweb.gateway import disk_usage
from dockerweb.gateway.stats import StatsSample
from jobs.models import Job
from tests.engine import settle_model, unique_name, wait_for
from tests.engine_spy import spying_on_the_engine
from tests.pages import shown_messages, text
from tests.socket_proxy import SocketProxy
from tests.users import client_for, make_user

BUSY = ("sh", "-c", "while :; do :; done")
JOB_URL = re.compile(r"^/engines/local/jobs/(?P<id>[0-9a-f-]{36})/$")


@pytest.fixture(autouse=True)
def nothing_kept():
    """Each test starts without kept facts or disk usage."""
    engine_facts.forget()
    disk_usage.forget()
    yield
    engine_facts.forget()
    disk_usage.forget()


def finished_job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:2000]
    match = JOB_URL.match(response["Location"])
    assert match, response["Location"]
    for thread in threading.enumerate():
        if thread.name.startswith("job-") and thread.name.endswith(match["id"]):
            thread.join(timeout=60)
    job = Job.objects.get(pk=match["id"])
    assert job.is_finished, job.status
    return job


def disk_answer(client):
    """The disk-usage fragment once it holds an answer (it polls while measuring)."""

    def measured():
        response = client.get("/engines/local/dashboard/disk/")
        assert response.status_code == 200
        return None if b"data-disk-pending" in response.content else response

    return wait_for(measured, timeout=60, interval=0.2, message="the disk-usage answer")


# -- the page ---------------------------------------------------------------------------------


def test_the_dashboard_shows_the_engines_version_and_live_counts(admin_client, docker_api):
    version = docker_api.version()
    before = engines.current().live().counts()
    page = admin_client.get("/engines/local/")
    after = engines.current().live().counts()
    assert page.status_code == 200
    for kind in ("running", "paused", "exited", "created", "images", "volumes", "networks"):
        shown = re.search(rf'data-live-count="{kind}">([\d,]+)<', page.content.decode())
        assert shown, kind
        if before[kind] == after[kind]:  # others share the engine: compare when it held still
            assert shown.group(1).replace(",", "") == str(before[kind]), kind

    facts = admin_client.get("/engines/local/dashboard/facts/")
    assert facts.status_code == 200
    shown = facts.content.decode()
    assert f"<dd data-engine-version>{version['Version']}</dd>" in shown
    assert f"<dd data-api-version>{version['ApiVersion']} " in shown
    assert f">{docker_api.info()['DockerRootDir']}</dd>" in shown
    # Kept: the page now shows them at once.
    again = admin_client.get("/engines/local/").content.decode()
    assert f"<dd data-engine-version>{version['Version']}</dd>" in again


def test_the_dashboard_is_home_and_first_in_the_navigation(admin_client):
    page = admin_client.get("/engines/local/").content.decode()
    nav = re.search(r'<nav class="topnav"[^>]*>(.*?)</nav>', page, re.S).group(1)
    first = re.search(r"<a [^>]*>([^<]+)</a>", nav)
    assert first.group(1) == "Dashboard"
    assert 'href="/engines/local/" aria-current="page"' in nav


def test_disk_usage_fills_in_with_every_part_and_what_it_can_reclaim(admin_client, docker_api):
    page = admin_client.get("/engines/local/")
    assert 'hx-get="/engines/local/dashboard/disk/" hx-trigger="load"' in page.content.decode()
    answer = disk_answer(admin_client).content.decode()
    df = docker_api.df()
    for part in ("images", "containers", "volumes", "build_cache"):
        assert f'data-part="{part}"' in answer, part
    images_row = re.search(r'data-part="images">(.*?)</tr>', answer, re.S).group(1)
    size = int(re.search(r'data-size="(\d+)"', images_row).group(1))
    assert size == df["LayersSize"] or abs(size - df["LayersSize"]) < 50_000_000  # shared engine
    # An admin is offered the prunes that have something to do — judged on the figures the
    # answer itself shows (it may be a few seconds old; other runs change the shared engine).
    row = re.search(r'data-part="containers">(.*?)</tr>', answer, re.S).group(1)
    count, active = (int(n.replace(",", "")) for n in re.findall(r"([\d,]+)", row)[:2])
    offered = 'href="/engines/local/dashboard/prune/containers/">Prune stopped containers' in row
    assert offered == (count > active), (count, active, row)


def test_a_viewer_sees_the_dashboard_but_no_prune_buttons(db, make_container, admin_client):
    make_container(start=False)  # something a prune could take
    assert (
        "/engines/local/dashboard/prune/containers/" in disk_answer(admin_client).content.decode()
    )
    viewer = client_for(make_user("dash-viewer", groups=("Viewer",)))
    page = viewer.get("/engines/local/")
    assert page.status_code == 200
    assert 'data-live-count="running"' in page.content.decode()
    answer = disk_answer(viewer).content.decode()
    assert "data-disk-usage" in answer
    assert "/prune/" not in answer and not re.search(r">Prune [^<]*</a>", answer)
    for path in (
        "/engines/local/dashboard/prune/containers/",
        "/engines/local/dashboard/prune/build-cache/",
    ):
        assert viewer.get(path).status_code == 403, path
        assert viewer.post(path, {"container": "0" * 64}).status_code == 403, path
    assert not Job.objects.exists()


def test_a_user_who_sees_nothing_gets_no_dashboard(db):
    nobody = client_for(make_user("dash-nobody"))
    for path in (
        "/",
        "/engines/local/dashboard/facts/",
        "/engines/local/dashboard/top/",
        "/engines/local/dashboard/disk/",
    ):
        assert nobody.get(path).status_code == 403, path


def test_image_viewers_see_the_engine_but_not_the_containers(db):
    images_only = client_for(make_user("dash-images", "images.view_image"))
    page = images_only.get("/engines/local/").content.decode()
    assert 'data-live-count="images"' in page
    assert 'data-live-count="running"' not in page and "/engines/local/dashboard/top/" not in page
    assert images_only.get("/engines/local/dashboard/top/").status_code == 403


# -- engine away, or slow ---------------------------------------------------------------------


def test_engine_down_shows_the_banner_and_every_part_still_answers(
    admin_client, settings, tmp_path
):
    settings.DOCKER_HOST = f"unix://{tmp_path / 'nobody.sock'}"
    try:
        page = admin_client.get("/engines/local/")
        facts = admin_client.get("/engines/local/dashboard/facts/")
        top = admin_client.get("/engines/local/dashboard/top/")
        disk = admin_client.get("/engines/local/dashboard/disk/")
        disk = wait_for(
            lambda: (
                (r := admin_client.get("/engines/local/dashboard/disk/"))
                and b"data-disk-pending" not in r.content
                and r
            ),
            message="the disk-usage failure",
        )
    finally:
        gateway.reset()
    assert page.status_code == 200
    banner = re.search(r'<div id="engine-banner"([^>]*)>(.*?)</div>', page.content.decode(), re.S)
    assert "hidden" not in banner.group(1) and "no socket at that path" in banner.group(2)
    assert 'data-live-count="running">—<' in page.content.decode()
    assert facts.status_code == 200 and "no socket at that path" in text(facts)
    assert top.status_code == 200 and "engine is unavailable" in text(top)
    assert "Disk usage unknown" in text(disk) and "no socket at that path" in text(disk)


@pytest.fixture
def df_never_answered(settings, tmp_path_factory):
    """The real engine behind a forwarder that never passes the disk-usage query on."""
    proxy = SocketProxy(
        tmp_path_factory.mktemp("df") / "docker.sock", holds=lambda line: b"/system/df" in line
    )
    proxy.start()
    settings.DOCKER_HOST = proxy.address
    settings.DF_TIMEOUT = 3.0
    gateway.reset()
    yield proxy
    proxy.stop()
    gateway.reset()


def test_disk_usage_never_holds_the_page_and_shows_its_progress(admin_client, df_never_answered):
    page = admin_client.get("/engines/local/")
    assert page.status_code == 200
    first = admin_client.get("/engines/local/dashboard/disk/")
    assert b"data-disk-pending" in first.content and "measuring… 0 s" in text(first)
    wait_for(lambda: df_never_answered.held == 1, message="the query to reach the engine")
    # Asked again while it runs: no second query, the time it has been running.
    later = wait_for(
        lambda: (
            (r := admin_client.get("/engines/local/dashboard/disk/"))
            and "measuring… 1 s" in text(r)
            and r
        ),
        message="the progress to count",
    )
    assert 'hx-trigger="load delay:1s"' in later.content.decode()
    assert df_never_answered.held == 1
    failed = wait_for(
        lambda: (
            (r := admin_client.get("/engines/local/dashboard/disk/"))
            and b"data-disk-pending" not in r.content
            and r
        ),
        timeout=20,
        message="the query's timeout",
    )
    assert "no answer to the disk-usage query within 3 s" in text(failed)
    assert df_never_answered.held == 1


# -- top containers ---------------------------------------------------------------------------


def fake_sample(cpu: float = 1.0, memory: int = 1000) -> StatsSample:
    return StatsSample(None, cpu, 2, memory, 10_000, 0, 0, 0, 0, 1)


def test_a_round_makes_at_most_n_calls_a_few_at_a_time_and_covers_everyone(settings):
    settings.DASHBOARD_SAMPLE_MAX = 40
    settings.DASHBOARD_SAMPLE_PARALLEL = 4
    running = [Running(f"{i:064x}", f"c{i}") for i in range(100)]
    lock = threading.Lock()
    calls: list[str] = []
    in_flight = [0, 0]  # now, most

    def sample(container_id):
        with lock:
            calls.append(container_id)
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.01)  # long enough for the pool's calls to overlap
        with lock:
            in_flight[0] -= 1
        return fake_sample(cpu=float(int(container_id, 16)), memory=int(container_id, 16))

    sampler = Sampler(sample=sample, running=lambda: running)
    per_round = []
    for _ in range(3):
        before = len(calls)
        assert sampler.run_round() == len(calls) - before
        per_round.append(len(calls) - before)
    assert per_round == [40, 40, 20 + 20]  # the third round starts over with the oldest
    assert {c.id for c in running} <= set(calls)
    assert 1 < in_flight[1] <= 4
    assert [m.name for m in sampler.top("cpu")] == ["c99", "c98", "c97", "c96", "c95"]
    assert [m.name for m in sampler.top("memory", 2)] == ["c99", "c98"]

    # A container started since is measured in the very next round; a stopped one drops out.
    running = [*running[1:], Running("f" * 64, "new")]
    calls.clear()
    sampler.run_round()
    assert "f" * 64 in calls and len(calls) == 40
    assert running[0].id != f"{0:064x}" and all(
        m.id != f"{0:064x}" for m in sampler.top("cpu", 200)
    )


def test_a_failed_sample_leaves_no_stale_figure(settings):
    settings.DASHBOARD_SAMPLE_MAX = 10
    gone = set()

    def sample(container_id):
        if container_id in gone:
            raise gateway.NotFound("no such container")
        return fake_sample()

    running = [Running("a" * 64, "a"), Running("b" * 64, "b")]
    sampler = Sampler(sample=sample, running=lambda: running)
    sampler.run_round()
    assert sampler.measured_count == 2
    gone.add("a" * 64)
    sampler.run_round()
    assert [m.name for m in sampler.top("memory")] == ["b"]


def test_a_busy_container_shows_up_in_the_cpu_top_list(admin_client, make_container, settings):
    settings.DASHBOARD_SAMPLE_SECONDS = 1.0
    busy = make_container(BUSY)
    idle = make_container()

    def in_cpu_list():
        response = admin_client.get("/engines/local/dashboard/top/")
        cpu = re.search(r'data-top="cpu">(.*?)</table>', response.content.decode(), re.S)
        return cpu is not None and busy["Id"] in cpu.group(1) and cpu.group(1)

    cpu_list = wait_for(
        in_cpu_list, timeout=90, interval=0.5, message="the busy container in the top list"
    )
    row = re.search(rf'data-container-id="{busy["Id"]}">(.*?)</tr>', cpu_list, re.S).group(1)
    percent = float(re.search(r"data-cpu>([\d.]+) %", row).group(1))
    assert percent > 20, row
    assert "s ago" in row
    # The idle one, if listed, is below it.
    if idle["Id"] in cpu_list:
        assert cpu_list.index(busy["Id"]) < cpu_list.index(idle["Id"])


# -- prunes -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # job threads write with their own connections
def test_the_containers_prune_removes_exactly_the_confirmed_ones_and_keeps_one_started_since(
    admin_client, make_container, docker_api
):
    prefix = unique_name("dwt-prune")
    sleeper = ("sleep", "3600")
    stopped = [make_container(sleeper, name=f"{prefix}-{i}", start=False) for i in range(3)]
    bystander = make_container(sleeper, name=f"{prefix}-unconfirmed", start=False)
    ids = [c["Id"] for c in stopped]

    page = admin_client.get("/engines/local/dashboard/prune/containers/", {"q": prefix})
    assert page.status_code == 200
    listed = re.findall(r'name="container" value="([0-9a-f]{64})"', page.content.decode())
    assert set(listed) == {*ids, bystander["Id"]}, "the page lists what a prune would take"
    shown = text(page)
    assert "These 4 stopped containers will be deleted" in shown
    assert "Their volumes and images are kept" in shown
    assert all(docker_api.inspect_container(i) for i in listed), "asking removed something"

    # One of the confirmed is started after the page was shown: the job keeps it.
    docker_api.start(ids[0])
    settle_model(ids[0], state="running")
    response = admin_client.post("/engines/local/dashboard/prune/containers/", {"container": ids})
    job = finished_job(response)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert set(job.result["removed"]) == set(ids[1:])
    assert job.result["kept"] == [ids[0]]
    remaining = {c["Id"] for c in docker_api.containers(all=True, filters={"name": prefix})}
    assert remaining == {ids[0], bystander["Id"]}
    entry = AuditEntry.objects.get(action="container.prune")
    assert entry.target_name == "stopped containers" and str(job.pk) in entry.detail
    assert f"{prefix}-1" in entry.detail and f"{prefix}-unconfirmed" not in entry.detail


def test_a_prune_post_without_ids_or_with_junk_removes_nothing(admin_client):
    for data in ({}, {"container": "not-an-id"}, {"container": ["0" * 64, "x"]}):
        response = admin_client.post(
            "/engines/local/dashboard/prune/containers/", data, follow=True
        )
        assert response.status_code == 200
        assert any("Nothing to prune" in m for m in shown_messages(response))
    assert not Job.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)  # job threads write with their own connections
def test_the_build_cache_prune_asks_first_and_prunes_only_the_confirmed_records(admin_client):
    page = wait_for(
        lambda: (
            (
                r := admin_client.get(
                    "/engines/local/dashboard/prune/build-cache/", HTTP_HX_REQUEST="true"
                )
            )
            and b"measuring" not in r.content
            and r
        ),
        timeout=60,
        message="the build-cache list",
    )
    assert page.status_code == 200
    assert "unused build cache" in text(page) or "will be deleted" in text(page)
    # A record nobody has: the engine's prune is never asked (its id filter is a pattern:
    # "a" would take every record with an "a" in its id), and the ask is recorded.
    with spying_on_the_engine() as spy:
        response = admin_client.post("/engines/local/dashboard/prune/build-cache/", {"record": "a"})
        job = finished_job(response)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result == {"reclaimed": 0}
    assert not [r for r in spy.requests if r.path == "/build/prune"]
    assert "a: not pruned (no such record" in job.output
    entry = AuditEntry.objects.get(action="build_cache.prune")
    assert entry.detail.endswith("1 confirmed: a")
    assert (
        admin_client.post(
            "/engines/local/dashboard/prune/build-cache/", {"record": "../x"}
        ).status_code
        == 302
    )
    assert Job.objects.count() == 1


def test_a_build_cache_record_is_pruned_by_id_only_when_that_id_is_unambiguous():
    known = {"abc123", "xabc123y", "zz9"}
    assert _unambiguous("zz9", known)
    assert not _unambiguous("abc123", known), "the engine's pattern would take xabc123y too"
    assert not _unambiguous("nope", known) and not _unambiguous("z", known)


@pytest.mark.django_db
def test_nobody_but_operators_may_prune(make_container, docker_api):
    container = make_container(start=False)
    reader = client_for(make_user("dash-reader", "containers.view_container", "images.view_image"))
    response = reader.post(
        "/engines/local/dashboard/prune/containers/", {"container": container["Id"]}
    )
    assert response.status_code == 403
    assert docker_api.inspect_container(container["Id"])
    assert not Job.objects.exists() and not AuditEntry.objects.exists()
