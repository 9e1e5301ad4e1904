"""Pull and push as jobs, against real local registries (Debian's docker-registry).

Pulls run in the real portal (Daphne), where jobs publish their progress to websockets;
the browser is used where what it shows is the thing tested.
"""

import contextlib
import html
import io
import json
import re
import sqlite3
import uuid

import docker
import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect as ws_connect

from tests import engine as eng
from tests.conftest import (
    REGISTRY_PASSWORD,
    REGISTRY_USER,
    login,
    start_portal,
    stop_portal,
    wait_for,
)
from tests.registry import SlowProxy

JOB_URL = re.compile(r"/engines/local/jobs/([0-9a-f-]{36})/$")
MB = 1024 * 1024


# -- arranging ------------------------------------------------------------------------------


def _build(docker_api, test_image: str, reference: str, layer_kb: list[int]) -> None:
    """An image FROM the test image with one layer of random data per entry of `layer_kb`."""
    steps = "\n".join(
        f"RUN dd if=/dev/urandom of=/data/layer{i} bs=1024 count={kb} 2>/dev/null"
        for i, kb in enumerate(layer_kb)
    )
    dockerfile = f"FROM {test_image}\n{steps}\n"
    for event in docker_api.build(
        fileobj=io.BytesIO(dockerfile.encode()),
        tag=reference,
        labels=eng.TEST_LABELS,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        assert "error" not in event, event


def _push(docker_api, reference: str, auth: dict | None = None) -> None:
    repository, tag = reference.rsplit(":", 1)
    for event in docker_api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth):
        assert "error" not in event, event


def _remove(docker_api, reference: str) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_image(reference, force=True)


def _absent(docker_api, images: "Images", reference: str) -> str:
    """Make sure a pull of `reference` has to fetch its layers: no local copy under any name."""
    for known in images.all():
        _remove(docker_api, known)
    with pytest.raises(docker.errors.NotFound):
        docker_api.inspect_image(reference)
    return reference


class Images:
    """What the module's registries hold, pushed once; local copies are removed."""

    def __init__(self, registry, private_registry):
        tag = eng.SESSION
        self.layered = f"{registry.address}/dwtest/layers:{tag}"  # 3 small layers
        self.big = f"{registry.address}/dwtest/big:{tag}"  # 3 layers of 6 MB
        self.private = f"{private_registry.address}/dwtest/layers:{tag}"
        self.registry = registry
        self.private_registry = private_registry
        self.pulled: set[str] = set()

    def all(self) -> list[str]:
        return [self.layered, self.private, self.big, *self.pulled]

    def ref(self, address: str, which: str) -> str:
        """The same image named through another address (a proxy in front of the registry)."""
        self.pulled.add(f"{address}/dwtest/{which}:{eng.SESSION}")
        return f"{address}/dwtest/{which}:{eng.SESSION}"


@pytest.fixture(scope="module")
def images(docker_api, test_image, registry, private_registry):
    made = Images(registry, private_registry)
    private_auth = {
        "username": REGISTRY_USER,
        "password": REGISTRY_PASSWORD,
        "serveraddress": private_registry.address,
    }
    try:
        _build(docker_api, test_image, made.layered, [300, 200, 100])
        _push(docker_api, made.layered)
        repository, tag = made.private.rsplit(":", 1)
        docker_api.tag(made.layered, repository, tag)
        _push(docker_api, made.private, private_auth)
        _build(docker_api, test_image, made.big, [6 * 1024] * 3)
        _push(docker_api, made.big)
        for reference in (made.layered, made.private, made.big):
            _remove(docker_api, reference)
        yield made
    finally:
        for reference in made.all():
            _remove(docker_api, reference)


@pytest.fixture
def http(portal):
    return portal.session()


def post(http, portal, path: str, data: dict | None = None):
    return http.post(
        f"{portal.url}{path}",
        data={**(data or {}), "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{portal.url}{path}"},
        allow_redirects=False,
        timeout=30,
    )


def started_job(response) -> str:
    assert response.status_code == 302, response.text[-2000:]
    match = JOB_URL.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def job_row(portal, job_id: str) -> dict | None:
    """The job as the portal recorded it (its own SQLite database)."""
    path = portal.data_dir / "dockerweb.sqlite3"
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT status, error, result, output FROM jobs_job WHERE id = ?",
            (job_id.replace("-", ""),),
        ).fetchone()
    if row is None:
        return None
    return {**dict(row), "result": json.loads(row["result"] or "{}")}


def job_count(portal) -> int:
    with contextlib.closing(sqlite3.connect(portal.data_dir / "dockerweb.sqlite3")) as db:
        return db.execute("SELECT COUNT(*) FROM jobs_job").fetchone()[0]


def finished(portal, job_id: str, timeout: float = 90) -> dict:
    def done():
        row = job_row(portal, job_id)
        return row if row and row["status"] != "running" else None

    return wait_for(done, timeout=timeout, interval=0.2, message=f"job {job_id} to finish")


def store_registry(http, portal, address: str, username: str, secret: str):
    response = post(
        http,
        portal,
        "/engines/local/images/registries/",
        {"address": address, "username": username, "secret": secret},
    )
    assert response.status_code == 302, response.text[-2000:]
    return response


def pull(http, portal, reference: str) -> str:
    return started_job(post(http, portal, "/engines/local/images/pull/", {"image": reference}))


# -- push -----------------------------------------------------------------------------------


def test_push_of_a_retagged_image_lands_in_the_registry(
    http, portal, registry, docker_api, test_image
):
    tag = uuid.uuid4().hex[:8]
    reference = f"{registry.address}/dwtest/img:{tag}"
    docker_api.tag(test_image, f"{registry.address}/dwtest/img", tag)
    try:
        job_id = started_job(post(http, portal, f"/engines/local/images/push/{reference}/"))
        row = finished(portal, job_id)
        assert row["status"] == "succeeded", row["error"]
        assert tag in registry.tags("dwtest/img")
    finally:
        _remove(docker_api, reference)


def test_push_of_an_image_that_is_not_here_starts_no_job(http, portal, registry):
    before = job_count(portal)
    response = post(http, portal, f"/engines/local/images/push/{registry.address}/dwtest/none:x/")
    assert response.status_code == 302
    assert job_count(portal) == before
    # The message shows on the next page rendered.
    page = http.get(f"{portal.url}/engines/local/jobs/", timeout=10).text
    assert f"There is no image “{registry.address}/dwtest/none:x”" in html.unescape(page)


# -- pull failures --------------------------------------------------------------------------


def test_invalid_reference_is_refused_by_the_form_and_no_job_starts(http, portal):
    before = job_count(portal)
    response = post(http, portal, "/engines/local/images/pull/", {"image": "Not//A Valid:ref"})
    assert response.status_code == 400
    assert "can&#x27;t contain spaces" in response.text or "Not a valid" in response.text
    assert job_count(portal) == before


def test_pull_of_an_unknown_tag_fails_with_the_registrys_reason(http, portal, images, registry):
    job_id = pull(http, portal, f"{registry.address}/dwtest/layers:no-such-tag")
    row = finished(portal, job_id)
    assert row["status"] == "failed"
    assert "not found" in row["error"] or "manifest unknown" in row["error"], row["error"]
    # The job page says why.
    page = http.get(f"{portal.url}/engines/local/jobs/{job_id}/", timeout=10).text
    assert html.escape(row["error"]) in page


def test_pull_with_wrong_stored_credentials_fails_as_unauthorized(
    http, portal, images, private_registry
):
    store_registry(http, portal, private_registry.address, REGISTRY_USER, "not-the-password")
    job_id = pull(http, portal, images.private)
    row = finished(portal, job_id)
    assert row["status"] == "failed"
    assert "unauthorized" in row["error"].lower(), row["error"]


def test_pull_from_an_unreachable_registry_fails_saying_so(http, portal):
    job_id = pull(http, portal, f"127.0.0.1:{eng.free_port()}/dwtest/img:x")
    row = finished(portal, job_id)
    assert row["status"] == "failed"
    assert "connection refused" in row["error"], row["error"]


# -- private registry -----------------------------------------------------------------------


def _watch_job_socket(portal, http, job_id: str) -> list[str]:
    """Every message the job's websocket sends until the job has finished."""
    cookie = f"sessionid={http.cookies['sessionid']}"
    url = f"ws://{portal.host}/engines/local/ws/jobs/{job_id}/"
    messages = []
    with ws_connect(url, additional_headers={"Cookie": cookie, "Origin": portal.url}) as socket:
        while True:
            text = socket.recv(timeout=90)
            messages.append(text)
            if json.loads(text).get("finished"):
                return messages


def test_private_registry_pull_uses_the_stored_login_and_never_serves_the_password(
    http, portal, images, private_registry, docker_api
):
    store_registry(http, portal, private_registry.address, REGISTRY_USER, REGISTRY_PASSWORD)
    job_id = pull(http, portal, _absent(docker_api, images, images.private))
    messages = _watch_job_socket(portal, http, job_id)
    row = finished(portal, job_id)
    assert row["status"] == "succeeded", row["error"]
    assert docker_api.inspect_image(images.private)["Id"] == row["result"]["image"]

    served = {
        "websocket": "\n".join(messages),
        "registries page": http.get(
            f"{portal.url}/engines/local/images/registries/", timeout=10
        ).text,
        "job page": http.get(f"{portal.url}/engines/local/jobs/{job_id}/", timeout=10).text,
        "jobs page": http.get(f"{portal.url}/engines/local/jobs/", timeout=10).text,
        "activity page": http.get(f"{portal.url}/engines/local/audit/", timeout=10).text,
        # A form sent back with an error must not echo the password either.
        "refused form": post(
            http,
            portal,
            "/engines/local/images/registries/",
            {"address": "not a host", "username": "x", "secret": REGISTRY_PASSWORD},
        ).text,
    }
    assert REGISTRY_USER in served["registries page"]
    leaks = [name for name, text in served.items() if REGISTRY_PASSWORD in text]
    assert not leaks, f"the registry password was served in: {leaks}"
    with contextlib.closing(sqlite3.connect(portal.data_dir / "dockerweb.sqlite3")) as db:
        stored = db.execute(
            "SELECT secret_encrypted FROM images_registry WHERE address = ?",
            (private_registry.address,),
        ).fetchone()[0]
    assert REGISTRY_PASSWORD not in stored


def test_registries_page_is_for_admins_only(portal):
    username = eng.unique_name("puller")
    portal.create_user(
        username, "puller-pass-1", ("images.pull_image", "containers.view_container")
    )
    http = portal.session(username, "puller-pass-1")
    assert http.get(f"{portal.url}/engines/local/images/registries/", timeout=10).status_code == 403
    assert post(http, portal, "/engines/local/images/registries/1/delete/").status_code == 403


def test_admin_removes_a_stored_registry(http, portal):
    address = f"127.0.0.1:{eng.free_port()}"
    store_registry(http, portal, address, "someone", "pw-to-forget")
    page = http.get(f"{portal.url}/engines/local/images/registries/", timeout=10).text
    pk = re.search(rf'data-registry="{re.escape(address)}".*?/registries/(\d+)/delete/', page, re.S)
    assert pk, page[-3000:]
    assert (
        post(http, portal, f"/engines/local/images/registries/{pk.group(1)}/delete/").status_code
        == 302
    )
    after = http.get(f"{portal.url}/engines/local/images/registries/", timeout=10).text
    assert f"Removed {address}." in after
    assert f'data-registry="{address}"' not in after


# -- run from a missing image ---------------------------------------------------------------


def test_run_form_pulls_a_missing_image_first_then_runs_the_container(
    http, portal, images, docker_api
):
    name = eng.unique_name()
    form = {
        "image": _absent(docker_api, images, images.layered),
        "name": name,
        "command": "sleep 300",
        "restart_policy": "no",
        "labels": f"{eng.LABEL_KEY}={eng.SESSION}",
    }
    before = job_count(portal)
    refused = post(http, portal, "/engines/local/containers/new/advanced/", form)
    assert refused.status_code == 400
    assert "Pull it first" in html.unescape(refused.text)
    assert job_count(portal) == before

    job_id = started_job(
        post(http, portal, "/engines/local/containers/new/advanced/", {**form, "pull_first": "on"})
    )
    row = finished(portal, job_id)
    container_id = row["result"].get("container")
    try:
        assert row["status"] == "succeeded", row["error"]
        container = docker_api.inspect_container(container_id)
        assert container["Name"] == f"/{name}"
        assert container["Config"]["Image"] == images.layered
        assert container["Config"]["Labels"]["dockerweb.created-by"] == "admin"
        assert container["State"]["Running"]
    finally:
        if container_id:
            docker_api.remove_container(container_id, force=True)


# -- restart --------------------------------------------------------------------------------


def test_restarting_the_portal_marks_a_running_pull_interrupted(
    tmp_path, images, registry, docker_api
):
    proxy = SlowProxy(registry.address)
    proxy.pause()  # the pull waits on the registry for as long as the test needs
    reference = images.ref(proxy.address, "layers")
    first, process = start_portal(tmp_path)
    try:
        job_id = pull(first.session(), first, reference)
        assert job_row(first, job_id)["status"] == "running"
    finally:
        stop_portal(process)
        proxy.stop()
    second, process = start_portal(tmp_path)
    try:
        jobs_page = second.session().get(f"{second.url}/engines/local/jobs/", timeout=10).text
        row = re.search(rf'<tr data-job-id="{job_id}".*?</tr>', jobs_page, re.S)
        assert row and "Interrupted" in row.group(0), jobs_page[-3000:]
        assert job_row(second, job_id)["status"] == "interrupted"
    finally:
        stop_portal(process)


# -- in the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_pull_in_the_browser_shows_every_layer_reaching_100_percent(
    admin_page, portal, images, docker_api
):
    page = admin_page
    page.goto(f"{portal.url}/engines/local/images/pull/")
    page.get_by_label("Image").fill(_absent(docker_api, images, images.layered))
    page.get_by_role("button", name="Pull").click()
    page.wait_for_url(JOB_URL)
    job = page.locator("[data-job]")
    expect(job).to_have_attribute("data-status", "succeeded", timeout=90_000)
    expect(job).to_have_attribute("data-overall", "100")
    layers = page.locator("li[data-layer]")
    assert layers.count() >= 4  # the test image's layer and the three added
    for layer in layers.all():
        expect(layer).to_have_attribute("data-percent", "100")
    expect(page.locator("[data-job-status]")).to_have_text("Succeeded")
    expect(page.locator("[data-job-result-link]")).to_be_visible()
    assert docker_api.inspect_image(images.layered)["RepoTags"]


@pytest.mark.browser
def test_invalid_reference_shows_the_problem_next_to_the_image_field(admin_page, portal):
    page = admin_page
    page.goto(f"{portal.url}/engines/local/images/pull/")
    page.get_by_label("Image").fill("MyImage:latest")
    page.get_by_role("button", name="Pull").click()
    expect(page.locator(".field.has-error")).to_contain_text("must be lowercase")
    assert "/engines/local/images/pull/" in page.url


RECORD_OVERALL = """
() => {
  window.__overall = [];
  const root = document.querySelector("[data-job]");
  new MutationObserver(() => window.__overall.push(Number(root.dataset.overall)))
    .observe(root, {attributes: true, attributeFilter: ["data-overall"]});
}
"""


@pytest.mark.browser
def test_pull_keeps_going_when_its_page_closes_and_another_browser_watches_it_live(
    admin_page, browser, portal, images, registry, docker_api
):
    # ~1 MB/s per connection: 18 MB of layers take seconds, long enough to watch.
    proxy = SlowProxy(registry.address, rate=MB)
    reference = _absent(docker_api, images, images.ref(proxy.address, "big"))
    try:
        first = admin_page
        first.goto(f"{portal.url}/engines/local/images/pull/")
        first.get_by_label("Image").fill(reference)
        first.get_by_role("button", name="Pull").click()
        first.wait_for_url(JOB_URL)
        job_id = JOB_URL.search(first.url).group(1)
        proxy.pause()  # hold the pull mid-way while the watchers change
        first.close()  # its websocket goes with it
        assert job_row(portal, job_id)["status"] == "running"

        context = browser.new_context()
        second = context.new_page()
        second.set_default_timeout(10_000)
        login(second, portal)
        second.goto(f"{portal.url}/engines/local/jobs/{job_id}/")
        job = second.locator("[data-job]")
        expect(job).to_have_attribute("data-status", "running")
        second.evaluate(RECORD_OVERALL)
        proxy.resume()
        expect(job).to_have_attribute("data-status", "succeeded", timeout=90_000)
        seen = second.evaluate("window.__overall")
        context.close()
    finally:
        proxy.stop()
    live = [value for value in seen if 0 < value < 100]
    assert len(set(live)) >= 2, f"no live progress between 0 and 100 %: {seen}"
    assert seen[-1] == 100
    row = job_row(portal, job_id)
    assert row["status"] == "succeeded", row["error"]
    assert docker_api.inspect_image(reference)["Id"] == row["result"]["image"]
