"""Build (`docker build -t name:tag`) as a job: typed Dockerfiles, uploaded contexts, refusals.

Every Dockerfile is FROM the session's test image (so what it builds carries the session's
label too), and every image a test builds is removed after it.
"""

import contextlib
import html
import io
import json
import re
import tarfile
import threading
import zipfile

import docker.errors
import pytest
from playwright.sync_api import expect

from audit.models import AuditEntry
from jobs.models import Job
from tests.engine import SESSION, TEST_LABELS, unique_name

# Job threads write with their own connection. (Not module-wide: the browser test must not
# touch the test database from Playwright's event loop.)
jobs_db = pytest.mark.django_db(transaction=True)

URL = "/engines/local/images/build/"
JOB_URL = re.compile(r"^/engines/local/jobs/(?P<id>[0-9a-f-]{36})/$")
BUILD_TIMEOUT = 90


def form(tags: str, dockerfile_text: str = "", **fields) -> dict:
    return {"dockerfile_text": dockerfile_text, "dockerfile": "Dockerfile", "tags": tags, **fields}


def finished_job(response) -> Job:
    """The job a build POST started, once it has ended."""
    assert response.status_code == 302, response.content.decode()[:2000]
    match = JOB_URL.match(response["Location"])
    assert match, response["Location"]
    # Wait for the job's thread rather than polling its row: the in-memory SQLite test
    # database (shared cache) fails a write with "table is locked" when another
    # connection reads at the same moment, where a file database would wait.
    for thread in threading.enumerate():
        if thread.name == f"job-build-{match['id']}":
            thread.join(timeout=BUILD_TIMEOUT)
            assert not thread.is_alive(), "the build job did not end"
    job = Job.objects.get(pk=match["id"])
    assert job.is_finished, job.status
    return job


def run_output(docker_api, image: str) -> str:
    """What a container from `image` prints with its default command."""
    container = docker_api.create_container(image, labels=TEST_LABELS)
    try:
        docker_api.start(container)
        docker_api.wait(container, timeout=30)
        return docker_api.logs(container).decode()
    finally:
        docker_api.remove_container(container, force=True)


def seed_dockerfile(image: str) -> str:
    return f'FROM {image}\nRUN echo built > /built.txt\nCMD ["cat", "/built.txt"]\n'


def tar_bytes(files: dict[str, tuple[bytes, int]], *, gz: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gz else "w") as tar:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_bytes(files: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (content, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16  # a regular file made on Unix
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def upload(name: str, content: bytes) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def has_step(text: str, number: int, instruction: str) -> bool:
    """The classic builder's "Step 2/4 : RUN …" line (the total counts the label step too)."""
    return re.search(rf"Step {number}/\d+ : {re.escape(instruction)}", text) is not None


def field_errors(response, field: str) -> str:
    """The text of a field's error list on the re-rendered form."""
    page = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


# -- builds that work -------------------------------------------------------------------------


@jobs_db
def test_build_page_offers_dockerfile_text_or_an_uploaded_context(admin_client):
    page = admin_client.get(URL).content.decode()
    for label in ("Dockerfile", "Build context", "Dockerfile path", "Tags", "Build arguments"):
        assert f">{label}</label>" in page
    assert 'enctype="multipart/form-data"' in page
    assert "No cache" in page


@jobs_db
def test_typed_dockerfile_builds_the_seed_example_which_then_runs(
    admin_client, docker_api, test_image, built
):
    tag = f"example-{SESSION}:01"
    built.append(tag)
    job = finished_job(admin_client.post(URL, form(tag, seed_dockerfile(test_image))))

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.kind == "build" and job.title == f"Build {tag}"
    assert has_step(job.output, 2, "RUN echo built > /built.txt")
    image = docker_api.inspect_image(tag)
    assert job.result == {"image": image["Id"], "reference": tag, "tags": [tag]}
    assert image["Config"]["Labels"]["dockerweb.built-by"] == "admin"
    assert run_output(docker_api, tag) == "built\n"
    entry = AuditEntry.objects.get(action="image.build")
    assert entry.target_name == tag and str(job.pk) in entry.detail

    page = admin_client.get(f"/engines/local/jobs/{job.pk}/").content.decode()
    assert (
        f'href="/engines/local/images/view/{image["Id"]}/"' in page
    )  # the result links to the new image


@jobs_db
def test_the_literal_example_01_tag_builds_when_it_is_free(
    admin_client, docker_api, test_image, built
):
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.inspect_image("example:01")
        pytest.skip("example:01 already exists on this engine: not touching it")
    built.append("example:01")
    job = finished_job(admin_client.post(URL, form("example:01", seed_dockerfile(test_image))))
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert run_output(docker_api, "example:01") == "built\n"


@jobs_db
@pytest.mark.parametrize(
    "kind",
    ["tar.gz", "zip", "tar with the Dockerfile in a folder"],
)
def test_uploaded_context_with_copy_builds(kind, admin_client, docker_api, test_image, built):
    dockerfile = (
        f'FROM {test_image}\nCOPY hello.txt /hello.txt\nCOPY tool.sh /tool.sh\nCMD ["/tool.sh"]\n'
    )
    path = "build/Dockerfile" if kind.startswith("tar with") else "Dockerfile"
    files = {
        path: (dockerfile.encode(), 0o644),
        "hello.txt": (f"hello from a {kind} context\n".encode(), 0o644),
        "tool.sh": (b"#!/bin/sh\ncat /hello.txt\n", 0o755),  # runs only if its mode survived
    }
    if kind == "zip":
        archive, name = zip_bytes(files), "context.zip"
    else:
        archive, name = tar_bytes(files, gz=kind == "tar.gz"), f"context.{kind.split()[0]}"
    tag = f"{unique_name('build')}:ctx"
    built.append(tag)

    response = admin_client.post(URL, form(tag, context=upload(name, archive), dockerfile=path))

    job = finished_job(response)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert "COPY hello.txt /hello.txt" in job.output
    assert run_output(docker_api, tag) == f"hello from a {kind} context\n"


@jobs_db
def test_two_tags_are_both_on_the_built_image(admin_client, docker_api, test_image, built):
    first, second = f"{unique_name('build')}:one", f"{unique_name('build')}:two"
    built.extend([first, second])
    dockerfile = f"FROM {test_image}\nRUN echo two-tags > /t.txt\n"
    job = finished_job(admin_client.post(URL, form(f"{first}, {second}", dockerfile)))
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert set(docker_api.inspect_image(job.result["image"])["RepoTags"]) == {first, second}
    assert job.result["reference"] == first


@jobs_db
def test_build_arguments_reach_the_build_and_only_their_names_are_recorded(
    admin_client, docker_api, test_image, built
):
    tag = f"{unique_name('build')}:args"
    built.append(tag)
    dockerfile = (
        f'FROM {test_image}\nARG GREETING\nRUN echo "greeting=$GREETING" | tee /g.txt\n'
        'CMD ["cat", "/g.txt"]\n'
    )
    data = form(tag, dockerfile, buildargs="GREETING=s3cret-value")
    job = finished_job(admin_client.post(URL, data))

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert "greeting=s3cret-value" in job.output  # the RUN step saw it
    assert run_output(docker_api, tag) == "greeting=s3cret-value\n"
    assert job.params["buildargs"] == ["GREETING"]
    assert "s3cret-value" not in json.dumps(job.params)
    assert "s3cret-value" not in AuditEntry.objects.get(action="image.build").detail


@jobs_db
def test_no_cache_runs_every_step_again(admin_client, test_image, built):
    tag = f"{unique_name('build')}:cache"
    built.append(tag)
    dockerfile = f"FROM {test_image}\nRUN echo {SESSION} > /c.txt\n"
    first = finished_job(admin_client.post(URL, form(tag, dockerfile)))
    cached = finished_job(admin_client.post(URL, form(tag, dockerfile)))
    fresh = finished_job(admin_client.post(URL, form(tag, dockerfile, nocache="on")))

    assert [j.status for j in (first, cached, fresh)] == [Job.Status.SUCCEEDED] * 3
    assert "Using cache" in cached.output
    assert "Using cache" not in fresh.output and fresh.params["nocache"] is True
    built.append(first.result["image"])  # the no-cache build made a new image


# -- builds that fail -------------------------------------------------------------------------


@jobs_db
@pytest.mark.parametrize(
    ("step", "engine_message"),
    [
        ("RUN false", "returned a non-zero code: 1"),
        ("RUN no-such-command", "returned a non-zero code: 127"),
    ],
)
def test_broken_dockerfile_fails_showing_the_failing_step_and_the_engines_message(
    step, engine_message, admin_client, docker_api, test_image
):
    tag = f"{unique_name('build')}:broken"
    job = finished_job(admin_client.post(URL, form(tag, f"FROM {test_image}\n{step}\n")))

    assert job.status == Job.Status.FAILED
    assert has_step(job.output, 2, step)
    assert engine_message in job.error
    assert has_step(job.error, 2, step)
    assert job.error.startswith("The build failed at Step 2/")
    if "no-such-command" in step:
        assert "no-such-command: not found" in job.output  # the shell's own words
    with pytest.raises(docker.errors.ImageNotFound):
        docker_api.inspect_image(tag)

    page = admin_client.get(f"/engines/local/jobs/{job.pk}/").content.decode()
    assert engine_message in page and has_step(page, 2, step)


# -- refused before any job starts ------------------------------------------------------------


def assert_no_job_started():
    assert not Job.objects.exists()
    assert not AuditEntry.objects.filter(action="image.build").exists()


@jobs_db
def test_upload_larger_than_the_limit_is_refused(admin_client, settings, test_image):
    settings.BUILD_UPLOAD_LIMIT = 4096
    files = {
        "Dockerfile": (f"FROM {test_image}\n".encode(), 0o644),
        "big.bin": (b"x" * 8192, 0o644),
    }
    data = form(f"{unique_name('build')}:big", context=upload("big.tar", tar_bytes(files)))

    response = admin_client.post(URL, data)

    assert response.status_code == 400
    assert "The build context is larger than the 4.1 kB limit." in field_errors(response, "context")
    assert_no_job_started()


@jobs_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.tar", b"this is not an archive\n" * 40),
        ("cut.tar.gz", tar_bytes({"Dockerfile": (b"FROM scratch\n" * 400, 0o644)}, gz=True)[:60]),
        ("cut.zip", zip_bytes({"Dockerfile": (b"FROM scratch\n" * 400, 0o644)})[:-30]),
    ],
    # Named, not shown: the gzip header holds the time, and every xdist worker must collect
    # the same test ids.
    ids=["notes.tar", "cut.tar.gz", "cut.zip"],
)
def test_corrupt_archive_is_refused(name, content, admin_client):
    data = form(f"{unique_name('build')}:bad", context=upload(name, content))
    response = admin_client.post(URL, data)
    assert response.status_code == 400
    assert "is not a readable tar, tar.gz or zip archive" in field_errors(response, "context")
    assert_no_job_started()


@jobs_db
def test_context_without_the_dockerfile_is_refused(admin_client):
    archive = tar_bytes({"docker/Dockerfile": (b"FROM scratch\n", 0o644)}, gz=True)
    data = form(f"{unique_name('build')}:x", context=upload("ctx.tar.gz", archive))
    response = admin_client.post(URL, data)
    assert response.status_code == 400
    assert "The build context has no file “Dockerfile”." in field_errors(response, "dockerfile")
    assert_no_job_started()


@jobs_db
@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../Dockerfile", "can't go outside the build context"),
        ("/etc/Dockerfile", "must be relative to the build context"),
    ],
)
def test_dockerfile_path_outside_the_context_is_refused(path, problem, admin_client, test_image):
    data = form(f"{unique_name('build')}:x", f"FROM {test_image}\n", dockerfile=path)
    response = admin_client.post(URL, data)
    assert response.status_code == 400
    assert problem in field_errors(response, "dockerfile")
    assert_no_job_started()


@jobs_db
@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ("Example:01", "Repository names must be lowercase."),
        ("example", "“example” needs a tag"),
        ("ok:1, bad!name:2", "“bad!name:2”: Not a valid image reference"),
        (f"name@sha256:{'a' * 64}", "not with an id or digest"),
    ],
)
def test_invalid_tag_is_refused(tags, problem, admin_client, test_image):
    response = admin_client.post(URL, form(tags, f"FROM {test_image}\n"))
    assert response.status_code == 400
    assert problem in field_errors(response, "tags")
    assert_no_job_started()


@jobs_db
def test_a_dockerfile_and_a_context_together_or_neither_are_refused(admin_client, test_image):
    archive = tar_bytes({"Dockerfile": (b"FROM scratch\n", 0o644)})
    both = form("x:1", f"FROM {test_image}\n", context=upload("c.tar", archive))
    for data, message in ((both, "not both"), (form("x:1"), "Type a Dockerfile or upload")):
        response = admin_client.post(URL, data)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert_no_job_started()


@jobs_db
def test_building_needs_the_build_permission(client, django_user_model, test_image):
    user = django_user_model.objects.create_user("viewer", password="pw-viewer-1")
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, form("x:1", f"FROM {test_image}\n")).status_code == 403
    assert_no_job_started()


# -- in the browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_build_output_streams_live_on_the_job_page(
    admin_page, portal, docker_api, test_image, built
):
    tag = f"{unique_name('build')}:live"
    built.append(tag)
    page = admin_page
    page.goto(f"{portal.url}{URL}")
    page.get_by_label("Dockerfile", exact=True).fill(
        f"FROM {test_image}\n"
        'RUN for i in 1 2 3 4 5 6; do echo "live-$i"; sleep 1; done\n'
        'CMD ["echo", "done"]\n'
    )
    page.get_by_label("Tags").fill(tag)
    page.get_by_role("button", name="Build", exact=True).click()
    page.wait_for_url(re.compile(r"/engines/local/jobs/[0-9a-f-]{36}/$"))

    output = page.locator("[data-job-output]")
    status = page.locator("[data-job-status]")
    # The first lines arrive while the build still runs, before the last is printed.
    expect(output).to_contain_text("live-1")
    expect(status).to_have_text("Running")
    assert "live-6" not in output.text_content()

    # A second watcher opened mid-build: the record it starts from, then live lines, each line
    # once and in order (none lost between the two, none twice).
    expect(output).to_contain_text("live-2")
    late = page.context.new_page()
    late.goto(page.url)
    late_output = late.locator("[data-job-output]")
    expect(late_output).to_contain_text("live-4", timeout=30_000)
    so_far = [line for line in late_output.text_content().splitlines() if line.startswith("live-")]
    assert "live-6" not in so_far, "the build ended before the check: too slow to say"
    assert so_far == [f"live-{i}" for i in range(1, len(so_far) + 1)], so_far
    late.close()

    expect(output).to_contain_text("live-6", timeout=30_000)
    expect(status).to_have_text("Succeeded", timeout=30_000)
    expect(page.locator("[data-job-progress]")).to_be_hidden()

    link = page.locator("[data-job-result-link]")
    expect(link).to_have_text(tag)
    image_id = docker_api.inspect_image(tag)["Id"]
    # The same URL as the server's link: the id as it reads, `:` not escaped.
    assert link.get_attribute("href") == f"/engines/local/images/view/{image_id}/"
