"""Builds and pulls must not reach the host's own network for a non-admin (finding 4): a
Dockerfile's remote `ADD` is fetched by the daemon from the host's loopback, and so are pulls
from loopback or link-local registries. Judged by what the little server on the host's
loopback was asked, and by what the engine holds."""

import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from images.models import Registry
from jobs.models import Job
from tests import engine as eng
from tests.users import client_for, make_user, operator_client

jobs_db = pytest.mark.django_db(transaction=True)
BUILD_URL = "/engines/local/images/build/"
PULL_URL = "/engines/local/images/pull/"
SECRET = b"loopback-only-secret"


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(SECRET)))
        self.end_headers()
        self.wfile.write(SECRET)

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    """An HTTP server only the host's loopback reaches, recording what it is asked."""
    server = ThreadingHTTPServer(("127.0.0.1", eng.free_port()), _Recorder)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def loopback_url(server, path="/secret") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def build(client, dockerfile: str, tag: str, **extra):
    return client.post(
        BUILD_URL, {"dockerfile_text": dockerfile, "dockerfile": "Dockerfile", "tags": tag, **extra}
    )


def errors_of(response) -> str:
    return " ".join(str(e) for e in response.context["form"].errors.values())


@jobs_db
@pytest.mark.parametrize(
    "instruction",
    [
        "ADD {url} /secret",
        "add {url} /secret",
        'ADD ["{url}", "/secret"]',
        "ADD --chown=1:1 {url} /secret",
        "ADD \\\n  {url} \\\n  /secret",
        "ONBUILD ADD {url} /secret",
        "ARG WHERE={url}\nADD ${{WHERE}} /secret",
    ],
)
def test_an_operators_dockerfile_cannot_add_from_a_url(
    instruction, loopback_server, docker_api, test_image
):
    operator = operator_client()
    tag = f"{eng.unique_name('dwt-add')}:1"
    dockerfile = f"FROM {test_image}\n{instruction.format(url=loopback_url(loopback_server))}\n"

    response = build(operator, dockerfile, tag)

    assert response.status_code == 400
    assert "ADD" in errors_of(response)
    assert not Job.objects.exists()
    assert loopback_server.requests == []
    assert docker_api.images(name=tag.split(":")[0]) == []


@jobs_db
def test_an_uploaded_context_cannot_add_from_a_url_either(loopback_server, test_image):
    operator = operator_client()
    dockerfile = f"FROM {test_image}\nADD {loopback_url(loopback_server)} /secret\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    upload = io.BytesIO(buffer.getvalue())
    upload.name = "context.tar"

    response = operator.post(
        BUILD_URL,
        {"context": upload, "dockerfile": "Dockerfile", "tags": f"{eng.unique_name('dwt')}:1"},
    )

    assert response.status_code == 400
    assert "ADD" in errors_of(response)
    assert not Job.objects.exists()
    assert loopback_server.requests == []


@jobs_db
def test_a_base_image_with_an_onbuild_add_from_a_url_is_refused(loopback_server, docker_api):
    # A base image as someone else built it: its ONBUILD trigger runs in the next build.
    operator = operator_client()
    base = f"{eng.unique_name('dwt-onbuild')}:1"
    docker_api.import_image_from_data(
        _busybox_tar(),
        repository=base.split(":")[0],
        tag="1",
        changes=[
            f"LABEL {eng.LABEL_KEY}={eng.SESSION}",
            f"ONBUILD ADD {loopback_url(loopback_server)} /secret",
        ],
    )
    try:
        response = build(operator, f"FROM {base}\n", f"{eng.unique_name('dwt')}:1")

        assert response.status_code == 400
        assert "ONBUILD" in errors_of(response)
        assert loopback_server.requests == []
    finally:
        docker_api.remove_image(base, force=True)


def _busybox_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(eng._busybox_path(), arcname="bin/busybox")
    return buffer.getvalue()


@jobs_db
def test_an_operator_cannot_build_from_a_base_image_the_engine_would_pull(loopback_server):
    operator = operator_client()
    missing = f"127.0.0.1:{loopback_server.server_address[1]}/not/here:1"

    response = build(operator, f"FROM {missing}\n", f"{eng.unique_name('dwt')}:1")

    assert response.status_code == 400
    assert "not on this engine" in errors_of(response)
    assert loopback_server.requests == []


@jobs_db
def test_an_operator_may_build_from_a_local_image_adding_local_files(docker_api, test_image):
    from tests.test_images_build import finished_job

    operator = operator_client()
    tag = f"{eng.unique_name('dwt-opbuild')}:1"
    dockerfile = f'FROM {test_image}\nADD Dockerfile /copied\nCMD ["cat", "/copied"]\n'
    try:
        job = finished_job(build(operator, dockerfile, tag))
        assert job.status == Job.Status.SUCCEEDED, job.error
    finally:
        for image in docker_api.images(name=tag.split(":")[0]):
            docker_api.remove_image(image["Id"], force=True)


@jobs_db
def test_an_admins_build_may_still_add_from_a_url(
    loopback_server, admin_client, docker_api, test_image
):
    from tests.test_images_build import finished_job

    tag = f"{eng.unique_name('dwt-adminadd')}:1"
    dockerfile = f"FROM {test_image}\nADD {loopback_url(loopback_server)} /secret\n"
    try:
        job = finished_job(build(admin_client, dockerfile, tag))
        assert job.status == Job.Status.SUCCEEDED, job.error
        assert loopback_server.requests == ["/secret"]
    finally:
        for image in docker_api.images(name=tag.split(":")[0]):
            docker_api.remove_image(image["Id"], force=True)


# -- pulls from the host's own addresses -----------------------------------------------------


def finished_pull(response) -> Job:
    """The job a pull POST started, once its thread has ended."""
    assert response.status_code == 302, response.content.decode()[:2000]
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    for thread in threading.enumerate():
        if thread.name == f"job-pull-{job_id}":
            thread.join(timeout=60)
            assert not thread.is_alive(), "the pull did not end"
    return Job.objects.get(pk=job_id)


@jobs_db
@pytest.mark.parametrize(
    "reference",
    [
        "127.0.0.1:{port}/dwt/x:1",
        "localhost:{port}/dwt/x:1",
        "[::1]:{port}/dwt/x:1",
        "169.254.169.254/latest/meta-data:1",
    ],
)
def test_an_operator_cannot_pull_from_the_hosts_own_addresses(reference, loopback_server):
    operator = operator_client()
    port = loopback_server.server_address[1]

    response = operator.post(PULL_URL, {"image": reference.format(port=port)})

    assert response.status_code == 400
    assert "administrator" in errors_of(response)
    assert not Job.objects.exists()
    assert loopback_server.requests == []


@jobs_db
def test_a_registry_an_admin_added_may_be_pulled_from_by_operators(registry):
    record = Registry(address=registry.address, username="u")
    record.set_secret("p")
    record.save()
    operator = operator_client()

    response = operator.post(PULL_URL, {"image": f"{registry.address}/dwt/absent:1"})

    job = finished_pull(response)
    # Allowed, so the engine asked the registry (which has no such image).
    assert job.kind == "pull" and "not found" in job.error


@jobs_db
def test_an_admin_may_pull_from_a_loopback_registry(admin_client, registry):
    response = admin_client.post(PULL_URL, {"image": f"{registry.address}/dwt/absent:1"})

    assert "not found" in finished_pull(response).error


@jobs_db
def test_the_run_form_cannot_pull_from_the_hosts_own_addresses_either(loopback_server):
    runner = client_for(
        make_user(
            "runner",
            "containers.view_container",
            "containers.create_container",
            "images.pull_image",
        )
    )
    port = loopback_server.server_address[1]

    response = runner.post(
        "/engines/local/containers/new/advanced/",
        {
            "image": f"127.0.0.1:{port}/dwt/x:1",
            "name": eng.unique_name("dwt"),
            "restart_policy": "no",
            "pull_first": "on",
        },
    )

    assert response.status_code == 400
    assert not Job.objects.exists()
    assert loopback_server.requests == []
