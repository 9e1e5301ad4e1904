"""Every path that creates or recreates a container asks the one host-access policy about
the exact configuration it then creates: found by reading the code, proven by running each
path (the run form, "Pull it first", a card's Create, the Settings tab) with the policy
watched."""

import ast
import re
import threading
from pathlib import Path

import docker.errors
import pytest

from dockerweb import host_access
from dockerweb.host_access import Problem, Refused
from jobs.models import Job
from tests import engine as eng
from tests.pages import text

BASE_DIR = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", "tests", "bench", "node_modules", "migrations", "var", ".git"}
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]

# Where the engine is asked to create a container, and why each place may.
CREATES = {
    # the policy's CheckedConfig, from the run form, the New container cards' Create and
    # pull-and-run jobs (all through containers/run_service.py)
    ("dockerweb/gateway/containers.py", "run_checked"),
    # the policy's CheckedConfig, from the Settings tab
    ("dockerweb/gateway/recreate.py", "apply"),
    # the portal's own never-started helper: a fixed configuration with no user input
    ("dockerweb/gateway/volume_files.py", "_create_helper"),
}


def _project_modules():
    for path in sorted(BASE_DIR.rglob("*.py")):
        relative = path.relative_to(BASE_DIR)
        if not SKIPPED_DIRS & set(relative.parts):
            yield str(relative), ast.parse(path.read_text())


def _calls(names: set[str]) -> set[tuple[str, str]]:
    """(module, enclosing function) of every call of a function or method named in `names`."""
    found = set()
    for module, tree in _project_modules():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    callee = node.func
                    name = (
                        callee.attr
                        if isinstance(callee, ast.Attribute)
                        else getattr(callee, "id", "")
                    )
                    if name in names:
                        found.add((module, function.name))
    return found


def test_containers_are_created_only_from_what_the_policy_approved():
    creating = _calls({"create_container", "create_container_from_config"})
    # docker-py's high-level API (client.containers.create/run) is never used.
    high_level = {
        (module, node.attr)
        for module, tree in _project_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"create", "run"}
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "containers"
    }
    assert high_level == set()
    assert creating == CREATES
    # The two user-driven creators take a CheckedConfig, and only the policy makes those.
    assert {m for m, _ in _calls({"CheckedConfig"})} == {"dockerweb/host_access/policy.py"}
    assert _calls({"run_checked"}) == {("containers/run_service.py", "run")}
    assert _calls({"apply"}) == {("containers/settings_views.py", "container_settings")}


# -- each path, run with the policy watched --------------------------------------------------


@pytest.fixture
def judged(monkeypatch):
    """Every body the policy judges (and what it answered), in order."""
    seen: list[dict] = []
    real_create, real_recreate = host_access.check_create, host_access.check_recreate

    def check_create(user, body, **kwargs):
        checked = real_create(user, body, **kwargs)
        seen.append({"kind": "create", "body": body, "checked": checked, **kwargs})
        return checked

    def check_recreate(user, plan):
        checked = real_recreate(user, plan)
        seen.append({"kind": "recreate", "body": plan.body, "checked": checked})
        return checked

    monkeypatch.setattr(host_access, "check_create", check_create)
    monkeypatch.setattr(host_access, "check_recreate", check_recreate)
    return seen


@pytest.fixture
def refusing(monkeypatch):
    """A policy that refuses everything: nothing may be created."""

    def refuse(*args, **kwargs):
        raise Refused([Problem("Refused by the test's policy.", "")])

    monkeypatch.setattr(host_access, "check_create", refuse)
    monkeypatch.setattr(host_access, "check_recreate", refuse)


def _named(docker_api, name):
    return docker_api.containers(all=True, filters={"name": [f"^/{re.escape(name)}$"]})


@pytest.fixture
def names(docker_api):
    made: list[str] = []
    yield made
    for name in made:
        for item in _named(docker_api, name):
            docker_api.remove_container(item["Id"], force=True, v=True)


def _run_form(image, name, **extra):
    return {"image": image, "name": name, "restart_policy": "no", "command": "sleep 300", **extra}


@pytest.mark.django_db
def test_the_run_form_creates_exactly_what_the_policy_judged(
    admin_client, docker_api, test_image, judged, names
):
    name = eng.unique_name("dwt-path-run")
    names.append(name)

    response = admin_client.post(
        "/engines/local/containers/new/advanced/", _run_form(test_image, name, env="A=1")
    )

    assert response.status_code == 302
    (call,) = judged
    container = docker_api.inspect_container(_named(docker_api, name)[0]["Id"])
    assert call["checked"].name == name
    assert container["Config"]["Image"] == call["body"]["Image"] == test_image
    assert container["Config"]["Env"][: len(call["body"]["Env"])] == call["body"]["Env"]
    assert call["body"]["Labels"].items() <= container["Config"]["Labels"].items()


@pytest.mark.django_db
def test_the_run_form_creates_nothing_the_policy_refuses(
    admin_client, docker_api, test_image, refusing, names
):
    name = eng.unique_name("dwt-path-refused")
    names.append(name)

    response = admin_client.post(
        "/engines/local/containers/new/advanced/", _run_form(test_image, name)
    )

    assert response.status_code == 400
    assert "Refused by the test's policy." in text(response)
    assert _named(docker_api, name) == []


@pytest.mark.django_db
def test_the_settings_tab_recreates_exactly_what_the_policy_judged(
    admin_client, docker_api, make_container, judged
):
    cid = make_container(COMMAND)["Id"]
    page = admin_client.get(f"/engines/local/containers/{cid}/settings/")
    data = {k: "" if v is None else v for k, v in page.context["form"].initial.items()}
    data["restart_policy"] = "always"

    done = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )

    assert done.status_code == 302
    (call,) = judged
    new_id = done["Location"].split("/")[4]
    after = docker_api.inspect_container(new_id)
    assert call["kind"] == "recreate"
    assert after["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert call["body"]["HostConfig"]["RestartPolicy"]["Name"] == "always"


@pytest.mark.django_db
def test_the_settings_tab_recreates_nothing_the_policy_refuses(
    admin_client, docker_api, make_container, refusing
):
    cid = make_container(COMMAND)["Id"]
    page = admin_client.get(f"/engines/local/containers/{cid}/settings/")
    data = {k: "" if v is None else v for k, v in page.context["form"].initial.items()}
    data["restart_policy"] = "always"

    response = admin_client.post(
        f"/engines/local/containers/{cid}/settings/", {**data, "step": "confirm"}
    )

    assert response.status_code == 400
    assert docker_api.inspect_container(cid)["HostConfig"]["RestartPolicy"]["Name"] in ("", "no")


@pytest.fixture
def remote_only_image(docker_api, registry, test_image):
    """An image in the local registry and not on the engine (a pull must fetch it)."""
    reference = f"{registry.address}/dwt/policy:{eng.SESSION}"
    repository, tag = reference.rsplit(":", 1)
    docker_api.tag(test_image, repository, tag)
    for event in docker_api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    docker_api.remove_image(reference)
    yield reference
    try:
        docker_api.remove_image(reference, force=True)
    except docker.errors.NotFound:
        pass


def _wait_for_job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:2000]
    job_id = response["Location"].rstrip("/").split("/")[-1]
    for thread in threading.enumerate():
        if thread.name.endswith(job_id):
            thread.join(timeout=60)
    return Job.objects.get(pk=job_id)


@pytest.mark.django_db(transaction=True)
def test_pull_it_first_judges_before_pulling_and_again_once_the_image_is_here(
    admin_client, docker_api, remote_only_image, judged, names
):
    name = eng.unique_name("dwt-path-pull")
    names.append(name)

    job = _wait_for_job(
        admin_client.post(
            "/engines/local/containers/new/advanced/",
            _run_form(remote_only_image, name, pull_first="on"),
        )
    )

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert [c.get("image_present", True) for c in judged] == [False, True]
    container = docker_api.inspect_container(job.result["container"])
    assert container["Config"]["Image"] == judged[1]["body"]["Image"] == remote_only_image


@pytest.mark.django_db(transaction=True)
def test_pull_it_first_runs_nothing_the_policy_refuses_once_the_image_is_here(
    admin_client, docker_api, remote_only_image, monkeypatch, names
):
    real = host_access.check_create

    def refuse_after_the_pull(user, body, **kwargs):
        if kwargs.get("image_present", True):
            raise Refused([Problem("Refused by the test's policy.", "")])
        return real(user, body, **kwargs)

    monkeypatch.setattr(host_access, "check_create", refuse_after_the_pull)
    name = eng.unique_name("dwt-path-pullrefused")
    names.append(name)

    job = _wait_for_job(
        admin_client.post(
            "/engines/local/containers/new/advanced/",
            _run_form(remote_only_image, name, pull_first="on"),
        )
    )

    assert job.status == Job.Status.FAILED
    assert "Refused by the test's policy." in job.error
    assert _named(docker_api, name) == []


# -- a New container card's Create ------------------------------------------------------------

CARD_NAME = f"busybox-{eng.SESSION}"  # the session image's card names its container so


@pytest.mark.django_db
def test_a_cards_create_creates_exactly_what_the_policy_judged(
    admin_client, docker_api, test_image, judged, names
):
    names.append(CARD_NAME)

    response = admin_client.post("/engines/local/containers/new/create/", {"image": test_image})

    assert response.status_code == 302, response.content.decode()[-2000:]
    (call,) = judged
    container = docker_api.inspect_container(_named(docker_api, CARD_NAME)[0]["Id"])
    assert call["checked"].name == CARD_NAME
    assert container["Config"]["Image"] == call["body"]["Image"] == test_image
    assert container["Config"]["Tty"] is call["body"]["Tty"] is True
    assert call["body"]["Labels"].items() <= container["Config"]["Labels"].items()


@pytest.mark.django_db
def test_a_cards_create_creates_nothing_the_policy_refuses(
    admin_client, docker_api, test_image, refusing, names
):
    names.append(CARD_NAME)

    response = admin_client.post("/engines/local/containers/new/create/", {"image": test_image})

    assert response.status_code == 400
    assert "Refused by the test's policy." in text(response)
    assert _named(docker_api, CARD_NAME) == []


@pytest.mark.django_db(transaction=True)
def test_a_cards_create_of_an_absent_image_judges_before_pulling_and_again_after(
    admin_client, docker_api, remote_only_image, judged, names
):
    names.append(f"policy-{eng.SESSION}")

    job = _wait_for_job(
        admin_client.post("/engines/local/containers/new/create/", {"image": remote_only_image})
    )

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert [c.get("image_present", True) for c in judged] == [False, True]
    container = docker_api.inspect_container(job.result["container"])
    assert container["Name"] == f"/policy-{eng.SESSION}"
    assert container["Config"]["Image"] == judged[1]["body"]["Image"] == remote_only_image


# -- Swarm services: their tasks are containers too ----------------------------------------------


def test_services_are_created_and_changed_only_from_what_the_policy_approved():
    # The engine is asked to create or update a service in the gateway alone (raw requests
    # with the judged spec: docker-py's create_service/update_service are never used)…
    engine_paths = {
        (module, function.name)
        for module, tree in _project_modules()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Constant)
        and node.value in ("/services/create", "/services/{0}/update")
    }
    assert engine_paths == {
        ("dockerweb/gateway/swarm.py", "create_service"),
        ("dockerweb/gateway/swarm.py", "update_service"),
        ("dockerweb/gateway/swarm.py", "roll_back_service"),
    }
    # …from a CheckedService, which only the policy makes, and only swarm/services.py asks.
    assert {m for m, _ in _calls({"CheckedService"})} == {"dockerweb/host_access/services.py"}
    assert _calls({"create_service"}) == {("swarm/services.py", "create")}
    assert _calls({"update_service"}) == {("swarm/services.py", "_change")}
    assert _calls({"roll_back_service"}) == {("swarm/services.py", "roll_back")}


def _new_service(client, name):
    return client.post(
        "/engines/swarm/swarm/services/new/",
        {
            "image": eng.TEST_IMAGE,
            "name": name,
            "replicas": "0",
            "env": "A=1",
            "labels": "\n".join(f"{k}={v}" for k, v in eng.TEST_LABELS.items()),
        },
    )


@pytest.mark.django_db
def test_the_new_service_form_creates_exactly_what_the_policy_judged(
    admin_client, swarm_engine, judged
):
    name = eng.unique_name("dwt-path-svc").replace("_", "-")

    assert _new_service(admin_client, name).status_code == 302

    (call,) = judged
    (service,) = swarm_engine.services(filters={"name": name})
    container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert call["name"] == name
    assert container["Image"] == call["body"]["Image"] == eng.TEST_IMAGE
    assert container["Env"] == call["body"]["Env"] == ["A=1"]
    assert (
        call["body"]["Labels"].items()
        <= {**container["Labels"], **service["Spec"]["Labels"]}.items()
    )


@pytest.mark.django_db
def test_the_new_service_form_creates_nothing_the_policy_refuses(
    admin_client, swarm_engine, refusing
):
    name = eng.unique_name("dwt-path-svcrefused").replace("_", "-")

    response = _new_service(admin_client, name)

    assert response.status_code == 403
    assert "Refused by the test's policy." in text(response)
    assert swarm_engine.services(filters={"name": name}) == []
