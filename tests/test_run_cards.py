""" "New container" as search-and-run cards, against the real engine and a real registry:
what the cards show, what Create runs (and names), what it refuses, and who gets it.

Containers a card creates carry the session's TEST_LABELS without the card adding any: the
test images are built with them as image labels, and a container inherits its image's labels
(so `remove_test_resources` finds them); each test also removes what it expects by name.
"""

import contextlib
import re
import threading
from urllib.parse import unquote

import docker.errors
import pytest

from audit.models import AuditEntry
from containers import card_names
from dockerweb import gateway
from images import registry_catalog
from images.models import Registry
from jobs.models import Job
from tests import engine as eng
from tests.conftest import REGISTRY_PASSWORD, REGISTRY_USER
from tests.pages import text
from tests.users import client_for, make_user, operator_client

NEW = "/engines/local/containers/new/"
CREATE = "/engines/local/containers/new/create/"
REGISTRY_CARDS = "/engines/local/containers/new/cards/registries/"
HUB_CARDS = "/engines/local/containers/new/cards/hub/"
HTMX = {"HTTP_HX_REQUEST": "true"}
TEST_NAME = f"busybox-{eng.SESSION}"  # what the session's image's card names its container


@pytest.fixture(autouse=True)
def fresh_catalog_cache():
    registry_catalog.clear_cache()
    yield
    registry_catalog.clear_cache()


@pytest.fixture
def by_name(docker_api):
    """Names of containers a test expects a card to create; removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(name, force=True, v=True)


def named(docker_api, name: str) -> list[dict]:
    return docker_api.containers(all=True, filters={"name": [f"^/{re.escape(name)}$"]})


def cards_of(response, source: str) -> list[str]:
    """The names of the cards of one source on a page or fragment."""
    page = response.content.decode()
    return re.findall(rf'data-card="{source}" data-card-name="([^"]+)"', page)


def new_container_id(response) -> str:
    assert response.status_code == 302, response.content.decode()[-2000:]
    match = re.fullmatch(r"/engines/local/containers/([0-9a-f]{64})/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def finished_job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[-2000:]
    match = re.fullmatch(r"/engines/local/jobs/([0-9a-f-]{36})/", response["Location"])
    assert match, response["Location"]
    for thread in threading.enumerate():
        if thread.name.endswith(match.group(1)):
            thread.join(timeout=90)
    return Job.objects.get(pk=match.group(1))


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("busybox:latest", "busybox-latest"),
        ("busybox", "busybox-latest"),
        ("dockerweb-test/busybox:abc123", "busybox-abc123"),
        ("127.0.0.1:5000/team/app:1.36", "app-1.36"),
        ("app@sha256:" + "ab" * 32, "app-abababababab"),
        ("sha256:" + "ab" * 32, ""),
        ("0123456789ab", ""),
    ],
)
def test_a_card_names_its_container_after_the_image_tag_never_its_id(reference, name):
    assert card_names.base_name(reference) == name


# -- the page and the local cards --------------------------------------------------------------


@pytest.mark.django_db
def test_searching_shows_the_local_image_card_with_its_tag_size_and_badge(admin_client, test_image):
    response = admin_client.get(NEW, {"q": "busybox"})  # the Search button, without JS

    assert response.status_code == 200
    assert "dockerweb-test/busybox" in cards_of(response, "local")
    card = re.search(
        r'<li class="card" data-card="local" data-card-name="dockerweb-test/busybox".*?</li>',
        response.content.decode(),
        re.S,
    ).group(0)
    assert f'value="{test_image}"' in card
    assert ">local<" in card
    assert re.search(r"data-card-size>[\d.]+ [kM]?B<", card), card
    assert ">Create</button>" in card
    # Advanced opens the card's default tag: this session's image, or another test run's
    # tag of the same repository (the engine is shared), never an id.
    advanced = re.search(
        r'href="/engines/local/containers/new/advanced/\?image=([^"]+)"', card
    ).group(1)
    assert re.search(rf'value="{re.escape(unquote(advanced))}"', card), advanced
    assert unquote(advanced).startswith("dockerweb-test/busybox:"), advanced
    # The search as you type asks for the cards alone.
    fragment = admin_client.get(NEW, {"q": "busybox"}, **HTMX)
    assert "<html" not in fragment.content.decode()
    assert "dockerweb-test/busybox" in cards_of(fragment, "local")
    assert cards_of(admin_client.get(NEW, {"q": f"no-such-{eng.SESSION}"}), "local") == []


@pytest.mark.django_db
def test_create_on_a_local_card_runs_the_image_named_after_its_tag(
    admin_client, docker_api, test_image, by_name
):
    by_name += [TEST_NAME, f"{TEST_NAME}-2"]

    first = new_container_id(admin_client.post(CREATE, {"image": test_image}))
    second = new_container_id(admin_client.post(CREATE, {"image": test_image}))

    doc = docker_api.inspect_container(first)
    assert doc["Name"] == f"/{TEST_NAME}"
    assert doc["State"]["Running"] is True
    assert doc["Config"]["Image"] == test_image
    assert doc["Config"]["Labels"]["dockerweb.created-by"] == "admin"
    assert doc["Config"]["Labels"][eng.LABEL_KEY] == eng.SESSION  # from the image
    # The name is taken now: the next Create gets a suffix, not an engine-made name.
    assert docker_api.inspect_container(second)["Name"] == f"/{TEST_NAME}-2"
    entry = AuditEntry.objects.get(action="container.run", target_id=first)
    assert (entry.outcome, entry.target_name) == (AuditEntry.Outcome.OK, TEST_NAME)


@pytest.mark.django_db
def test_create_through_htmx_sends_the_browser_to_the_new_containers_logs(
    admin_client, docker_api, test_image, by_name
):
    by_name.append(TEST_NAME)

    response = admin_client.post(CREATE, {"image": test_image}, **HTMX)

    assert response.status_code == 200
    match = re.fullmatch(r"/engines/local/containers/([0-9a-f]{64})/", response["HX-Redirect"])
    assert match, response["HX-Redirect"]
    assert docker_api.inspect_container(match.group(1))["Name"] == f"/{TEST_NAME}"


# -- who gets Create, and what the policy refuses ------------------------------------------------


@pytest.mark.django_db
def test_a_viewer_gets_no_new_container_page_and_no_create(docker_api, test_image):
    viewer = client_for(make_user("viewer", "containers.view_container", "images.view_image"))

    assert viewer.get(NEW).status_code == 403
    assert viewer.get(HUB_CARDS, {"q": "busybox"}).status_code == 403
    assert viewer.get(REGISTRY_CARDS).status_code == 403
    assert viewer.post(CREATE, {"image": test_image}).status_code == 403
    assert named(docker_api, TEST_NAME) == []
    assert not AuditEntry.objects.exists()


@pytest.fixture
def forbidden_label_image(docker_api):
    """An image carrying a label in the portal's own namespace (containers may not inherit
    it), plus the session's labels."""
    reference = f"dwt-cards-forbidden-{eng.SESSION}:1"
    eng.build_busybox_image(docker_api, reference, {**eng.TEST_LABELS, "dockerweb.owner": "x"})
    yield reference
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_image(reference, force=True)


@pytest.mark.django_db
def test_an_operators_create_of_an_image_the_policy_refuses_creates_nothing(
    docker_api, forbidden_label_image, by_name
):
    operator = operator_client()
    name = card_names.base_name(forbidden_label_image)
    by_name.append(name)

    response = operator.post(CREATE, {"image": forbidden_label_image, "q": "forbidden"})

    assert response.status_code == 400
    assert "dockerweb.owner" in text(response) and "Nothing was created" in text(response)
    assert named(docker_api, name) == []
    assert docker_api.containers(all=True, filters={"ancestor": forbidden_label_image}) == []
    entry = AuditEntry.objects.get(action="container.run")
    assert entry.outcome == AuditEntry.Outcome.FAILED
    # On the card itself when asked through htmx.
    fragment = operator.post(CREATE, {"image": forbidden_label_image}, **HTMX)
    assert fragment.status_code == 400
    assert "data-card-problem" in fragment.content.decode()
    assert named(docker_api, name) == []


@pytest.mark.django_db
def test_without_the_pull_permission_cards_of_absent_images_offer_no_create(docker_api):
    permissions = ("containers.view_container", "containers.create_container")
    client = client_for(make_user("runner", *permissions))
    absent = f"127.0.0.1:1/dwt-cards-absent-{eng.SESSION}:1"

    response = client.post(CREATE, {"image": absent})

    assert response.status_code == 400
    assert "not allowed to pull" in text(response)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_an_invalid_reference_is_refused_before_the_engine_is_asked(admin_client):
    response = admin_client.post(CREATE, {"image": "../../etc:passwd"})
    assert response.status_code == 400
    assert "Nothing was created" in text(response)


# -- registries --------------------------------------------------------------------------------


def push(docker_api, reference: str, auth: dict | None = None) -> None:
    repository, tag = reference.rsplit(":", 1)
    docker_api.tag(eng.TEST_IMAGE, repository, tag)
    try:
        for event in docker_api.push(
            repository, tag=tag, stream=True, decode=True, auth_config=auth
        ):
            assert "error" not in event, event
    finally:
        docker_api.remove_image(reference)


def add_registry(address: str, username: str = "dwt", secret: str = "unused") -> Registry:  # noqa: S107 - an open test registry ignores it
    registry = Registry(address=address, username=username)
    registry.set_secret(secret)
    registry.save()
    return registry


@pytest.fixture
def remote_only(docker_api, registry, test_image):
    """An image in the local registry and not on the engine, and its registry configured."""
    reference = f"{registry.address}/dwt/cards-{eng.SESSION}:v1"
    push(docker_api, reference)
    add_registry(registry.address)
    yield reference
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_image(reference, force=True)


@pytest.mark.django_db
def test_the_registry_cards_list_a_configured_registrys_catalog_and_tags(
    admin_client, registry, remote_only
):
    page = admin_client.get(NEW, {"q": "cards"})
    # The page asks for the registries' cards in a fragment of their own.
    assert f'hx-get="{REGISTRY_CARDS}?q=cards"' in page.content.decode()

    response = admin_client.get(REGISTRY_CARDS, {"q": "cards"}, **HTMX)

    assert response.status_code == 200
    repository = remote_only.rsplit(":", 1)[0]
    assert repository in cards_of(response, "registry")
    assert f'value="{remote_only}"' in response.content.decode()
    assert ">registry<" in response.content.decode()
    assert (
        cards_of(admin_client.get(REGISTRY_CARDS, {"q": "nothing-matches"}, **HTMX), "registry")
        == []
    )


@pytest.mark.django_db(transaction=True)
def test_create_on_a_registry_card_pulls_then_runs(admin_client, docker_api, remote_only, by_name):
    name = f"cards-{eng.SESSION}-v1"
    by_name.append(name)

    job = finished_job(admin_client.post(CREATE, {"image": remote_only}))

    assert job.status == Job.Status.SUCCEEDED, job.error
    doc = docker_api.inspect_container(job.result["container"])
    assert doc["Name"] == f"/{name}"
    assert doc["Config"]["Image"] == remote_only
    assert doc["State"]["Running"] is True
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["image.pull", "container.run"]


@pytest.mark.django_db(transaction=True)
def test_create_on_a_registry_card_through_htmx_shows_the_job_on_the_card(
    admin_client, docker_api, remote_only, by_name
):
    by_name.append(f"cards-{eng.SESSION}-v1")

    response = admin_client.post(CREATE, {"image": remote_only}, **HTMX)

    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'data-ws-url="/engines/local/ws/jobs/([0-9a-f-]{36})/"', page)
    assert match and "data-card-job" in page
    job = Job.objects.get(pk=match.group(1))
    for thread in threading.enumerate():
        if thread.name.endswith(str(job.pk)):
            thread.join(timeout=90)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error


@pytest.mark.django_db
def test_a_private_registry_is_listed_with_its_stored_login_and_a_wrong_one_says_so(
    admin_client, docker_api, private_registry
):
    auth = {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}
    reference = f"{private_registry.address}/dwt/private-{eng.SESSION}:p1"
    docker_api.login(REGISTRY_USER, REGISTRY_PASSWORD, registry=private_registry.address)
    push(docker_api, reference, auth={**auth, "serveraddress": private_registry.address})
    stored = add_registry(private_registry.address, REGISTRY_USER, REGISTRY_PASSWORD)

    listed = admin_client.get(REGISTRY_CARDS, {"q": "private"}, **HTMX)
    assert reference.rsplit(":", 1)[0] in cards_of(listed, "registry")

    stored.set_secret("wrong-password")
    stored.save()
    registry_catalog.clear_cache()
    refused = admin_client.get(REGISTRY_CARDS, {"q": "private"}, **HTMX)
    assert cards_of(refused, "registry") == []
    assert "the stored login may not list it" in text(refused)
    assert REGISTRY_PASSWORD not in refused.content.decode()


@pytest.mark.django_db
def test_a_registry_that_is_down_fails_alone(admin_client, registry, remote_only):
    down = f"127.0.0.1:{eng.free_port()}"  # nothing listens there
    add_registry(down)

    response = admin_client.get(REGISTRY_CARDS, {"q": "cards"}, **HTMX)

    assert response.status_code == 200
    assert f"{down} can't be listed: it can't be reached from the portal." in text(response)
    assert remote_only.rsplit(":", 1)[0] in cards_of(response, "registry")


def test_registry_calls_follow_no_redirect_and_use_https_off_loopback():
    assert registry_catalog.base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert registry_catalog.base_url("registry.example.com") == "https://registry.example.com"
    assert registry_catalog.base_url("10.0.0.5:5000") == "https://10.0.0.5:5000"


# -- Docker Hub --------------------------------------------------------------------------------

ENGINE_WORDS = 'Get "https://index.docker.io/v1/search?q=busybox&n=12": dial tcp: lookup index.docker.io: no such host'


@pytest.mark.django_db
def test_hub_offline_is_one_friendly_line_not_the_engines_error(admin_client, monkeypatch):
    def offline(term, limit=25):
        raise gateway.EngineError(ENGINE_WORDS)

    monkeypatch.setattr(gateway.images, "search_hub", offline)

    response = admin_client.get(HUB_CARDS, {"q": "busybox"}, **HTMX)

    assert response.status_code == 200
    shown = text(response)
    assert shown.count("Docker Hub can't be reached from the engine.") == 1
    assert "dial tcp" not in shown and "index.docker.io" not in shown
    assert cards_of(response, "hub") == []


@pytest.mark.django_db
def test_hub_cards_show_description_stars_and_the_official_badge(admin_client, monkeypatch):
    found = [
        gateway.images.HubResult("busybox", "Busybox base image.", 3200, True),
        gateway.images.HubResult("someone/busybox-extra", "", 3, False),
    ]
    monkeypatch.setattr(gateway.images, "search_hub", lambda term, limit=25: found)

    response = admin_client.get(HUB_CARDS, {"q": "busybox"}, **HTMX)

    assert cards_of(response, "hub") == ["busybox", "someone/busybox-extra"]
    page = response.content.decode()
    first = page[page.index('data-card-name="busybox"') : page.index('data-card-name="someone')]
    assert "Busybox base image." in first and ">official<" in first and "3200 stars" in first
    assert 'value="busybox:latest"' in first and ">Docker Hub<" in first


@pytest.mark.django_db
def test_the_real_engines_hub_search_gives_cards_or_the_one_line(admin_client):
    response = admin_client.get(HUB_CARDS, {"q": "busybox"}, **HTMX)
    assert response.status_code == 200
    try:
        gateway.images.search_hub("busybox", limit=1)
    except gateway.GatewayError:
        assert text(response).count("Docker Hub can't be reached from the engine.") == 1
    else:
        assert cards_of(response, "hub")


# -- Run from an image's page keeps its tag ------------------------------------------------------


@pytest.mark.django_db
def test_run_from_an_image_page_fills_the_tag_and_the_container_shows_it(
    admin_client, docker_api, make_image, by_name
):
    reference, image_id = make_image()
    for opened_by in (reference, image_id, image_id.removeprefix("sha256:")[:12]):
        page = admin_client.get(f"/engines/local/images/view/{opened_by}/").content.decode()
        link = re.search(
            r'href="/engines/local/containers/new/advanced/\?image=([^"]+)">Run</a>', page
        )
        assert link, opened_by
        assert link.group(1) == reference.replace(":", "%3A"), (opened_by, link.group(1))

    name = eng.unique_name("dwt-from-page")
    by_name.append(name)
    response = admin_client.post(
        "/engines/local/containers/new/advanced/",
        {"image": reference, "name": name, "restart_policy": "no", "command": "sleep 60"},
    )

    container_id = new_container_id(response)
    assert docker_api.inspect_container(container_id)["Config"]["Image"] == reference
    (listed,) = docker_api.containers(all=True, filters={"id": [container_id]})
    assert listed["Image"] == reference  # what `docker ps` shows
