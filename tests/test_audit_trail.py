"""The activity trail can't be forged: every change made through the portal leaves exactly one
audit entry, naming the object as the engine has it (its full id and its own name), whatever
the browser sent.

The routes are found through the URL resolver, not listed by hand: a new route that accepts
a POST (or PUT, PATCH, DELETE) and has no case below makes
`test_every_mutating_route_has_an_audit_case` fail. Websocket consumers are held to the same
rule: today none accepts a command, and one that starts to must get a case here.
"""

import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import docker.errors
import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEntry
from containers.terminal import TerminalConsumer
from dockerweb.asgi import application
from dockerweb.consumers import LiveStateConsumer
from dockerweb.routing import websocket_urlpatterns
from engines.models import EngineConfig, EngineGrant
from images.models import Registry
from jobs.models import Job
from tests import engine as eng
from tests.test_security import _fill, _samples

# Job threads write to the database with their own connections.
pytestmark = pytest.mark.django_db(transaction=True)

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
LABEL_LINES = "\n".join(f"{key}={value}" for key, value in eng.TEST_LABELS.items())
JOB_URL = re.compile(r"^/engines/local/jobs/(?P<id>[0-9a-f-]{36})/$")
JOB_TIMEOUT = 90

# Left out, on purpose:
# - the Django admin (/admin/…): its own changes are recorded by Django's LogEntry (and its
#   Users & roles page is where admins look at them);
# - login and logout: they change only the session of the person doing them;
# - the theme (Light / Dark / Automatic): the user's own display choice, no engine state.
EXCLUDED_NAMESPACES = {"admin"}
EXCLUDED_ROUTES = {"login", "logout", "preferences:theme"}


# -- which routes change something -------------------------------------------------------------


def project_routes() -> dict[str, str]:
    """Qualified route name → a concrete path (sample parameters), for every URL pattern of
    the project outside the excluded namespaces."""
    samples = _samples("0123456789ab")
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for entry in patterns:
            piece = _fill(str(entry.pattern), samples)
            if isinstance(entry, URLResolver):
                if entry.namespace in EXCLUDED_NAMESPACES:
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + piece, inner)
            else:
                assert isinstance(entry, URLPattern)
                assert entry.name, f"unnamed route {prefix + piece}: name it so a case can match"
                found[namespace + entry.name] = prefix + piece

    walk(get_resolver().url_patterns, "/", "")
    return found


def accepts_changes(client: Client, path: str) -> bool:
    """Whether any method that changes things gets past the method check (405 means no)."""
    return any(
        getattr(client, method)(path).status_code != 405
        for method in ("post", "put", "patch", "delete")
    )


def mutating_routes() -> set[str]:
    # A user without any permission: the method check (405) comes before the permission
    # check (403) in every view, so nothing is done, and a route counts as mutating unless
    # every changing method is refused as such.
    nobody = User.objects.create_user("route-prober", password="route-prober-pw-1")
    # On the engine (a role holding no permission), so the engine's own refusal of strangers
    # doesn't hide the views' method checks.
    EngineGrant.objects.create(
        engine="local", user=nobody, role=Group.objects.create(name="route-prober-role")
    )
    client = Client()
    client.force_login(nobody)
    routes = project_routes()
    return {
        name
        for name, path in routes.items()
        if name not in EXCLUDED_ROUTES and accepts_changes(client, path)
    }


# -- what an entry must say ----------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    action: str
    target_type: str
    target_id: str
    target_name: str
    detail_has: str = ""


@dataclass
class World:
    """What a case needs: the admin's client, the engine, fixtures that make real objects."""

    client: Client
    docker: docker.APIClient
    make_container: Callable
    make_image: Callable
    registry: object
    cleanup: list[Callable]
    fixture: Callable | None = None  # pytest's getfixturevalue: what only some cases need

    def container(self, *, start=True) -> dict:
        return self.make_container(COMMAND, start=start)

    def engine_name(self, container_id: str) -> str:
        return self.docker.inspect_container(container_id)["Name"].lstrip("/")

    def volume(self, name: str | None = None) -> str:
        created = self.docker.create_volume(name=name, labels=eng.TEST_LABELS)
        self.cleanup.append(
            lambda: _quietly(self.docker.remove_volume, created["Name"], force=True)
        )
        return created["Name"]

    def network(self) -> dict:
        name = eng.unique_name("dwt-auditnet")
        created = self.docker.create_network(name, driver="bridge", labels=eng.TEST_LABELS)
        self.cleanup.append(lambda: _quietly(self.docker.remove_network, created["Id"]))
        return self.docker.inspect_network(created["Id"])

    def removes_container(self, container_id: str) -> None:
        self.cleanup.append(
            lambda: _quietly(self.docker.remove_container, container_id, force=True)
        )

    def removes_image(self, reference: str) -> None:
        self.cleanup.append(lambda: _quietly(self.docker.remove_image, reference, force=True))


def _quietly(call, *args, **kwargs) -> None:
    with contextlib.suppress(docker.errors.APIError):
        call(*args, **kwargs)


def _finished_job(response) -> Job:
    """The job a POST started, once its thread has ended (a job may write entries too)."""
    assert response.status_code == 302, response.content.decode()[:2000]
    match = JOB_URL.match(response["Location"])
    assert match, response["Location"]
    for thread in threading.enumerate():
        if thread.name.startswith("job-") and thread.name.endswith(match["id"]):
            thread.join(timeout=JOB_TIMEOUT)
            assert not thread.is_alive(), "the job did not end"
    job = Job.objects.get(pk=match["id"])
    assert job.is_finished, job.status
    return job


def _new_container_id(response) -> str:
    assert response.status_code == 302, response.content.decode()[:3000]
    return response["Location"].strip("/").split("/")[3]


# -- one case per mutating route (and per lifecycle verb) ------------------------------------


def case_run(w: World) -> Expected:
    # No name: the engine picks one, and the entry must carry that one.
    response = w.client.post(
        "/engines/local/containers/new/advanced/",
        {
            "image": eng.TEST_IMAGE,
            "command": "sleep 60",
            "restart_policy": "no",
            "labels": LABEL_LINES,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    container_id = _new_container_id(response)
    w.removes_container(container_id)
    return Expected("container.run", "container", container_id, w.engine_name(container_id))


def case_card_create(w: World) -> Expected:
    # A card's Create: the image alone; the portal names the container after its tag.
    response = w.client.post("/engines/local/containers/new/create/", {"image": eng.TEST_IMAGE})
    container_id = _new_container_id(response)
    w.removes_container(container_id)
    name = w.engine_name(container_id)
    assert name.startswith(f"busybox-{eng.SESSION}"), name
    return Expected("container.run", "container", container_id, name)


def _lifecycle(verb: str, *, start: bool, prepare: Callable | None = None):
    def case(w: World) -> Expected:
        container = w.container(start=start)
        if prepare:
            prepare(w.docker, container["Id"])
        name = container["Name"].lstrip("/")
        # The form as the page serves it (hidden name), posted to the short id a user may type.
        response = w.client.post(
            f"/engines/local/containers/{container['Id'][:12]}/{verb}/",
            {"name": name, "next": "/engines/local/containers/"},
        )
        assert response.status_code == 302
        return Expected(f"container.{verb}", "container", container["Id"], name)

    return case


def case_forged_stop(w: World) -> Expected:
    victim, other = w.container(), w.container()
    other_name = other["Name"].lstrip("/")
    response = w.client.post(
        f"/engines/local/containers/{victim['Id']}/stop/", {"name": other_name}
    )
    assert response.status_code == 302
    assert not w.docker.inspect_container(victim["Id"])["State"]["Running"]
    assert w.docker.inspect_container(other["Id"])["State"]["Running"]
    return Expected("container.stop", "container", victim["Id"], victim["Name"].lstrip("/"))


def case_forged_stop_by_name(w: World) -> Expected:
    """Addressed by its name in the URL: the entry still carries the engine's full id."""
    victim = w.container()
    name = victim["Name"].lstrip("/")
    response = w.client.post(f"/engines/local/containers/{name}/kill/", {"name": "someone-else"})
    assert response.status_code == 302
    return Expected("container.kill", "container", victim["Id"], name)


def case_remove_container(w: World) -> Expected:
    container = w.container()
    response = w.client.post(
        f"/engines/local/containers/{container['Id'][:12]}/remove/", {"name": "forged"}
    )
    assert response.status_code == 302
    with pytest.raises(docker.errors.NotFound):
        w.docker.inspect_container(container["Id"])
    return Expected("container.remove", "container", container["Id"], container["Name"][1:])


def case_settings(w: World) -> Expected:
    container = w.container(start=False)
    page = w.client.get(f"/engines/local/containers/{container['Id']}/settings/")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("on" if v is True else "" if v in (None, False) else v) for k, v in data.items()}
    data.update(env="AUDITED=yes", step="confirm")
    response = w.client.post(f"/engines/local/containers/{container['Id'][:12]}/settings/", data)
    new_id = _new_container_id(response)
    w.removes_container(new_id)
    assert new_id != container["Id"]
    return Expected("container.recreate", "container", new_id, w.engine_name(new_id))


def _pushed_to_registry(w: World) -> str:
    """A reference of ours that only the local registry holds (pulling it fetches it)."""
    local, _ = w.make_image()
    remote = f"{w.registry.address}/{eng.unique_name('dwt-auditpull')}:1"
    repository, tag = remote.rsplit(":", 1)
    w.docker.tag(local, repository, tag)
    for event in w.docker.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    w.docker.remove_image(remote)
    w.removes_image(remote)
    return remote


def case_pull(w: World) -> Expected:
    remote = _pushed_to_registry(w)
    job = _finished_job(w.client.post("/engines/local/images/pull/", {"image": remote}))
    assert job.status == "succeeded", (job.status, job.error)
    assert w.docker.inspect_image(remote)
    return Expected("image.pull", "image", remote, remote, detail_has=str(job.pk))


def case_build(w: World) -> Expected:
    tag = f"{eng.unique_name('dwt-auditbuild')}:1"
    w.removes_image(tag)
    response = w.client.post(
        "/engines/local/images/build/",
        {
            "dockerfile_text": f"FROM {eng.TEST_IMAGE}\nRUN echo audited > /audited\n",
            "dockerfile": "Dockerfile",
            "tags": tag,
        },
    )
    job = _finished_job(response)
    assert job.status == "succeeded", (job.status, job.error)
    assert w.docker.inspect_image(tag)
    return Expected("image.build", "image", tag, tag, detail_has=str(job.pk))


def case_push(w: World) -> Expected:
    local, image_id = w.make_image()
    remote = f"{w.registry.address}/{eng.unique_name('dwt-auditpush')}:1"
    repository, tag = remote.rsplit(":", 1)
    w.docker.tag(local, repository, tag)
    w.removes_image(remote)
    job = _finished_job(w.client.post(f"/engines/local/images/push/{remote}/"))
    assert job.status == "succeeded", (job.status, job.error)
    return Expected("image.push", "image", image_id, remote, detail_has=str(job.pk))


def case_tag(w: World) -> Expected:
    reference, image_id = w.make_image()
    new_reference = f"{eng.unique_name('dwt-audittag')}:2"
    w.removes_image(new_reference)
    # Addressed by its short id: the entry names the image by its tag and full id.
    short = image_id.split(":")[1][:12]
    response = w.client.post(
        f"/engines/local/images/tag/{short}/", {"new_reference": new_reference}
    )
    assert response.status_code == 302
    assert new_reference in w.docker.inspect_image(image_id)["RepoTags"]
    return Expected("image.tag", "image", image_id, reference, detail_has=new_reference)


def case_remove_image(w: World) -> Expected:
    reference, image_id = w.make_image()
    short = image_id.split(":")[1][:12]
    response = w.client.post(f"/engines/local/images/remove/{short}/")
    assert response.status_code == 302, response.content.decode()[-2000:]
    with pytest.raises(docker.errors.NotFound):
        w.docker.inspect_image(image_id)
    return Expected("image.remove", "image", image_id, reference)


def case_prune_images(w: World) -> Expected:
    reference, first = w.make_image()
    eng.build_busybox_image(w.docker, reference, {**eng.TEST_LABELS, "second": "1"})
    w.make_image.made.append(w.docker.inspect_image(reference)["Id"])
    assert w.docker.inspect_image(first)["RepoTags"] == []
    # Only our own id: nobody else's dangling image is touched.
    response = w.client.post("/engines/local/images/prune/", {"image": first})
    assert response.status_code == 302
    with pytest.raises(docker.errors.NotFound):
        w.docker.inspect_image(first)
    return Expected("image.prune", "image", "", "dangling images", detail_has=first)


def case_registry_add(w: World) -> Expected:
    address = f"{eng.unique_name('reg')}.example:5000"
    response = w.client.post(
        "/engines/local/images/registries/",
        {"address": f"https://{address}/", "username": "u", "secret": "s3cret-token"},
    )
    assert response.status_code == 302
    registry = Registry.objects.get(address=address)
    return Expected("registry.add", "registry", str(registry.pk), address)


def case_registry_delete(w: World) -> Expected:
    registry = Registry(address="delete-me.example:5000", username="u")
    registry.set_secret("s3cret-token")
    registry.save()
    response = w.client.post(f"/engines/local/images/registries/{registry.pk}/delete/")
    assert response.status_code == 302
    assert not Registry.objects.filter(pk=registry.pk).exists()
    return Expected("registry.delete", "registry", str(registry.pk), registry.address)


def case_create_volume(w: World) -> Expected:
    name = eng.unique_name("dwt-auditvol")
    response = w.client.post(
        "/engines/local/volumes/new/", {"name": name, "driver": "local", "labels": LABEL_LINES}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    w.cleanup.append(lambda: _quietly(w.docker.remove_volume, name, force=True))
    assert w.docker.inspect_volume(name)["Name"] == name
    return Expected("volume.create", "volume", name, name)


def case_remove_volume(w: World) -> Expected:
    name = w.volume(eng.unique_name("dwt-auditvol"))
    response = w.client.post(f"/engines/local/volumes/{name}/remove/", {"confirm_name": name})
    assert response.status_code == 302
    with pytest.raises(docker.errors.NotFound):
        w.docker.inspect_volume(name)
    return Expected("volume.remove", "volume", name, name)


def case_prune_volumes(w: World) -> Expected:
    name = w.volume()  # anonymous: offered by old and new engines alike
    eng.settle_volume(name)  # the prune checks it is unused in the live model
    # Only our own name: nobody else's unused volume is touched.
    response = w.client.post("/engines/local/volumes/prune/", {"volume": name})
    assert response.status_code == 302
    with pytest.raises(docker.errors.NotFound):
        w.docker.inspect_volume(name)
    return Expected("volume.prune", "volume", "", "unused volumes", detail_has=name)


def case_upload(w: World) -> Expected:
    name = w.volume(eng.unique_name("dwt-auditvol"))
    response = w.client.post(
        f"/engines/local/volumes/{name}/files/upload/",
        {"path": "", "file": SimpleUploadedFile("notes.txt", b"audited\n")},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Expected("volume.upload", "volume", name, name, detail_has="/notes.txt")


def case_create_network(w: World) -> Expected:
    name = eng.unique_name("dwt-auditnet")
    response = w.client.post("/engines/local/networks/new/", {"name": name, "labels": LABEL_LINES})
    assert response.status_code == 302, response.content.decode()[-2000:]
    network = w.docker.inspect_network(name)
    w.cleanup.append(lambda: _quietly(w.docker.remove_network, network["Id"]))
    return Expected("network.create", "network", network["Id"], name)


def case_connect(w: World) -> Expected:
    network, container = w.network(), w.container()
    response = w.client.post(
        f"/engines/local/networks/{network['Id'][:12]}/connect/", {"container": container["Id"]}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Expected(
        "network.connect",
        "network",
        network["Id"],
        network["Name"],
        detail_has=container["Name"].lstrip("/"),
    )


def case_disconnect(w: World) -> Expected:
    network, container = w.network(), w.container()
    w.docker.connect_container_to_network(container["Id"], network["Id"])
    response = w.client.post(
        f"/engines/local/networks/{network['Name']}/disconnect/", {"container": container["Id"]}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Expected(
        "network.disconnect",
        "network",
        network["Id"],
        network["Name"],
        detail_has=container["Name"].lstrip("/"),
    )


def case_remove_network(w: World) -> Expected:
    network = w.network()
    response = w.client.post(f"/engines/local/networks/{network['Name']}/remove/")
    assert response.status_code == 302
    with pytest.raises(docker.errors.NotFound):
        w.docker.inspect_network(network["Id"])
    return Expected("network.remove", "network", network["Id"], network["Name"])


def case_prune_containers(w: World) -> Expected:
    # Only our own stopped container, by id: the engine's other stopped containers stay.
    container = w.container(start=False)
    response = w.client.post(
        "/engines/local/dashboard/prune/containers/", {"container": container["Id"]}
    )
    assert _finished_job(response).result["removed"] == [container["Id"]]
    name = container["Name"].lstrip("/")
    return Expected("container.prune", "container", "", "stopped containers", detail_has=name)


def case_prune_build_cache(w: World) -> Expected:
    # A record no one has: the prune names exactly it, so nobody's build cache is touched.
    response = w.client.post(
        "/engines/local/dashboard/prune/build-cache/", {"record": "dwtauditnorecord"}
    )
    assert _finished_job(response).result == {"reclaimed": 0}
    return Expected(
        "build_cache.prune", "build_cache", "", "build cache", detail_has="dwtauditnorecord"
    )


SWARM = "/engines/swarm/swarm"


def _swarm(w: World) -> docker.APIClient:
    """The session's swarm manager, declared as engine "swarm" for this case; the services
    made on it are removed after."""
    from dockerweb.env import DeclaredEngine

    dockerd, settings = w.fixture("swarm_dockerd"), w.fixture("settings")
    settings.DOCKERWEB_ENGINES = [
        DeclaredEngine("local", settings.DOCKER_HOST, None),
        DeclaredEngine("swarm", dockerd.unix_address, None),
    ]
    client = dockerd.client()

    def remove_ours():
        for service in client.services(filters={"label": f"{eng.LABEL_KEY}={eng.SESSION}"}):
            _quietly(client.remove_service, service["ID"])

    w.cleanup.append(remove_ours)
    return client


def _service(w: World, *, changed: bool = False) -> tuple[docker.APIClient, dict]:
    """A service of ours with no tasks, made through the swarm's side door (changed once
    when `changed`: it has a previous version to roll back to)."""
    client = _swarm(w)
    name = eng.unique_name("dwt-auditsvc").replace("_", "-")
    spec = docker.types.ContainerSpec(eng.TEST_IMAGE, command=["sleep", "600"])
    created = client.create_service(
        docker.types.TaskTemplate(spec),
        name=name,
        labels=eng.TEST_LABELS,
        mode=docker.types.ServiceMode("replicated", 0),
    )
    if changed:
        version = client.inspect_service(created["ID"])["Version"]["Index"]
        labels = {**eng.TEST_LABELS, "second": "1"}
        client.update_service(created["ID"], version, labels=labels, fetch_current_spec=True)
    return client, client.inspect_service(created["ID"])


def case_service_create(w: World) -> Expected:
    client = _swarm(w)
    name = eng.unique_name("dwt-auditsvc").replace("_", "-")
    response = w.client.post(
        f"{SWARM}/services/new/",
        {"image": eng.TEST_IMAGE, "name": name, "replicas": "0", "labels": LABEL_LINES},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    (service,) = client.services(filters={"name": name})
    return Expected("service.create", "service", service["ID"], name)


def case_service_scale(w: World) -> Expected:
    client, service = _service(w)
    name = service["Spec"]["Name"]
    response = w.client.post(f"{SWARM}/services/{name}/scale/", {"replicas": "0"})
    assert response.status_code == 302
    return Expected("service.scale", "service", service["ID"], name, detail_has="0 replicas")


def case_service_update(w: World) -> Expected:
    client, service = _service(w)
    name = service["Spec"]["Name"]
    response = w.client.post(f"{SWARM}/services/{name}/update/", {"image": eng.TEST_IMAGE})
    assert response.status_code == 302
    assert client.inspect_service(service["ID"])["Version"] != service["Version"]
    return Expected("service.update", "service", service["ID"], name, detail_has=eng.TEST_IMAGE)


def case_service_rollback(w: World) -> Expected:
    client, service = _service(w, changed=True)
    name = service["Spec"]["Name"]
    response = w.client.post(f"{SWARM}/services/{service['ID'][:12]}/rollback/")
    assert response.status_code == 302
    assert "second" not in client.inspect_service(service["ID"])["Spec"]["Labels"]
    return Expected("service.rollback", "service", service["ID"], name)


def case_service_remove(w: World) -> Expected:
    client, service = _service(w)
    name = service["Spec"]["Name"]
    response = w.client.post(f"{SWARM}/services/{name}/remove/")
    assert response.status_code == 302
    assert client.services(filters={"name": name}) == []
    return Expected("service.remove", "service", service["ID"], name)


def case_node_update(w: World) -> Expected:
    client = _swarm(w)
    node = client.nodes()[0]
    response = w.client.post(
        f"{SWARM}/nodes/{node['ID']}/", {"availability": "active", "labels": LABEL_LINES}
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert client.inspect_node(node["ID"])["Spec"]["Labels"] == eng.TEST_LABELS
    hostname = node["Description"]["Hostname"]
    return Expected("node.update", "node", node["ID"], hostname, detail_has="active")


def _pause(api, container_id):
    api.pause(container_id)


# -- the Engines pages (about engines, not on one: entries carry engine "") -------------------


def _new_engine_name() -> str:
    return eng.unique_name("audit-eng").lower()[:40].strip("-")


def _stored_engine() -> str:
    """A stored engine at the main engine's own address (verifying it needs no other)."""
    name = _new_engine_name()
    EngineConfig.objects.create(name=name, address=settings.DOCKER_HOST)
    return name


def case_engine_add(w: World) -> Expected:
    name = _new_engine_name()
    response = w.client.post(
        "/settings/engines/new/", {"name": name, "address": settings.DOCKER_HOST}
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert EngineConfig.objects.filter(name=name).exists()
    return Expected("engine.add", "engine", name, name, detail_has=settings.DOCKER_HOST)


def case_engine_change(w: World) -> Expected:
    name = _stored_engine()
    response = w.client.post(f"/settings/engines/{name}/", {"address": settings.DOCKER_HOST})
    assert response.status_code == 302, response.content.decode()[-3000:]
    return Expected("engine.change", "engine", name, name)


def case_engine_remove(w: World) -> Expected:
    name = _stored_engine()
    response = w.client.post(f"/settings/engines/{name}/remove/")
    assert response.status_code == 302
    assert not EngineConfig.objects.filter(name=name).exists()
    return Expected("engine.remove", "engine", name, name, detail_has="0 grants removed")


def _grantee() -> tuple[User, Group]:
    user = User.objects.create_user(eng.unique_name("grantee"), password="grantee-pw-1")
    # Transactional tests flush the groups the migration made: made again if needed.
    return user, Group.objects.get_or_create(name="Viewer")[0]


def case_engine_grant(w: World) -> Expected:
    user, viewer = _grantee()
    response = w.client.post(
        "/settings/engines/local/access/", {"user": user.pk, "role": viewer.pk}
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    return Expected("engine.grant", "engine", "local", "local", detail_has=user.username)


def case_engine_revoke(w: World) -> Expected:
    user, viewer = _grantee()
    held = EngineGrant.objects.create(engine="local", user=user, role=viewer)
    response = w.client.post(f"/settings/engines/local/access/{held.pk}/remove/")
    assert response.status_code == 302
    assert not EngineGrant.objects.filter(pk=held.pk).exists()
    return Expected("engine.revoke", "engine", "local", "local", detail_has=user.username)


# Route → its cases. Every mutating route needs at least one.
CASES: dict[str, dict[str, Callable[[World], Expected]]] = {
    "containers:run-advanced": {"run": case_run},
    "containers:run-create": {"create": case_card_create},
    "containers:action": {
        "start": _lifecycle("start", start=False),
        "stop": _lifecycle("stop", start=True),
        "restart": _lifecycle("restart", start=True),
        "pause": _lifecycle("pause", start=True),
        "unpause": _lifecycle("unpause", start=True, prepare=_pause),
        "kill": _lifecycle("kill", start=True),
        "forged-stop": case_forged_stop,
        "forged-kill-by-name": case_forged_stop_by_name,
    },
    "containers:remove": {"remove": case_remove_container},
    "containers:settings": {"recreate": case_settings},
    "images:pull": {"pull": case_pull},
    "images:build": {"build": case_build},
    "images:push": {"push": case_push},
    "images:tag": {"tag": case_tag},
    "images:remove": {"remove": case_remove_image},
    "images:prune": {"prune": case_prune_images},
    "images:registries": {"add": case_registry_add},
    "images:registry-delete": {"delete": case_registry_delete},
    "volumes:create": {"create": case_create_volume},
    "volumes:remove": {"remove": case_remove_volume},
    "volumes:prune": {"prune": case_prune_volumes},
    "volumes:files-upload": {"upload": case_upload},
    "networks:create": {"create": case_create_network},
    "networks:connect": {"connect": case_connect},
    "networks:disconnect": {"disconnect": case_disconnect},
    "networks:remove": {"remove": case_remove_network},
    "dashboard:prune-containers": {"prune": case_prune_containers},
    "dashboard:prune-build-cache": {"prune": case_prune_build_cache},
    "swarm:create": {"create": case_service_create},
    "swarm:scale": {"scale": case_service_scale},
    "swarm:update": {"update": case_service_update},
    "swarm:rollback": {"rollback": case_service_rollback},
    "swarm:remove": {"remove": case_service_remove},
    "swarm:node": {"update": case_node_update},
    "engines:add": {"add": case_engine_add},
    "engines:detail": {"change": case_engine_change},
    "engines:remove": {"remove": case_engine_remove},
    "engines:grant": {"grant": case_engine_grant},
    "engines:revoke": {"revoke": case_engine_revoke},
}
ALL_CASES = [(route, label) for route, cases in CASES.items() for label in cases]


def test_every_mutating_route_has_an_audit_case():
    found = mutating_routes()
    # The probe must see the obvious ones, or it proves nothing.
    assert {"containers:action", "containers:run-advanced", "networks:create"} <= found
    assert found == set(CASES), (
        f"mutating routes without a case: {sorted(found - set(CASES))}; "
        f"cases for routes that no longer change anything: {sorted(set(CASES) - found)}"
    )


@pytest.fixture
def world(request, admin_user, docker_api, make_container, make_image, registry, test_image):
    client = Client()
    client.force_login(admin_user)
    cleanup: list[Callable] = []
    yield World(
        client, docker_api, make_container, make_image, registry, cleanup, request.getfixturevalue
    )
    for undo in reversed(cleanup):
        undo()


SECRET_READS = ("container.read_env", "volume.browse", "volume.read_file")


@pytest.mark.parametrize(("route", "label"), ALL_CASES, ids=[f"{r}-{c}" for r, c in ALL_CASES])
def test_each_change_leaves_exactly_one_entry_naming_the_real_object(world, route, label):
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    expected = CASES[route][label](world)
    # Reading a secret is recorded too (tests/test_secrets.py): a case that opens the Settings
    # form as an admin reads the environment. This test counts the changes.
    entries = list(
        AuditEntry.objects.filter(id__gt=before).exclude(action__in=SECRET_READS).order_by("id")
    )
    assert len(entries) == 1, [(e.action, e.target_id, e.target_name) for e in entries]
    entry = entries[0]
    assert (entry.action, entry.target_type, entry.outcome) == (
        expected.action,
        expected.target_type,
        AuditEntry.Outcome.OK,
    ), (entry.action, entry.target_type, entry.outcome, entry.detail)
    if expected.target_id:
        assert entry.target_id == expected.target_id
    assert entry.target_name == expected.target_name
    assert expected.detail_has in entry.detail
    assert entry.username == "admin"


# -- websockets ----------------------------------------------------------------------------------

# Consumer class → a case, for consumers that accept commands from the browser. A consumer
# that starts to (a terminal, a "stop" button over the socket…) must appear here with a case
# proving its commands leave exactly one entry each — or, if what it is sent changes nothing,
# a case proving that.


def _live_state_watch_changes_nothing(admin_client):
    """The live socket's only message, `{"watch": [ids]}`, says which containers the page
    shows: it joins their groups and changes nothing on the engine or in the trail."""
    import asyncio

    cookie = f"sessionid={admin_client.cookies['sessionid'].value}".encode()
    before = AuditEntry.objects.count()

    async def talk():
        communicator = WebsocketCommunicator(
            application,
            "/engines/local/ws/live/",
            headers=[
                (b"origin", b"http://localhost"),
                (b"host", b"localhost"),
                (b"cookie", cookie),
            ],
        )
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"watch": ["0" * 64, "not-an-id", 5]})
        await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    asyncio.run(talk())
    assert AuditEntry.objects.count() == before


def _terminal_session_is_two_entries(admin_client):
    """The terminal socket's commands: bytes before `open` reach nothing; `open` starts an
    exec and records container.terminal_start; keystrokes and resizes are the session's own
    (counted in its end entry, not one each); the socket's end records container.terminal_end
    with the bytes each way."""
    import asyncio
    import json

    client = eng.api()
    eng.build_test_image(client)
    container = client.create_container(
        eng.TEST_IMAGE, command=["sleep", "3600"], labels=eng.TEST_LABELS
    )["Id"]
    client.start(container)
    cookie = f"sessionid={admin_client.cookies['sessionid'].value}".encode()
    before = AuditEntry.objects.count()

    async def talk():
        communicator = WebsocketCommunicator(
            application,
            f"/engines/local/ws/containers/{container}/terminal/",
            headers=[
                (b"origin", b"http://localhost"),
                (b"host", b"localhost"),
                (b"cookie", cookie),
            ],
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_to(bytes_data=b"touch /before-open\n")
        await communicator.send_json_to({"open": {"command": "sh"}, "size": [80, 24]})
        while True:
            message = await communicator.receive_output(timeout=20)
            if message.get("text"):
                assert json.loads(message["text"])["state"] == "connected", message
                break
        await communicator.send_to(bytes_data=b"echo typed\n")
        await communicator.send_json_to({"resize": [100, 30]})
        await communicator.disconnect(timeout=20)

    try:
        asyncio.run(talk())
        entries = list(AuditEntry.objects.order_by("id")[before:])
        assert [(e.action, e.target_id, e.outcome) for e in entries] == [
            ("container.terminal_start", container, AuditEntry.Outcome.OK),
            ("container.terminal_end", container, AuditEntry.Outcome.OK),
        ], [(e.action, e.detail) for e in entries]
        assert "11 bytes in" in entries[1].detail, entries[1].detail  # "echo typed\n"
        ls = client.exec_start(client.exec_create(container, ["ls", "/"])["Id"]).decode()
        assert "before-open" not in ls
    finally:
        client.remove_container(container, force=True)


WEBSOCKET_COMMANDS: dict[type, Callable] = {
    LiveStateConsumer: _live_state_watch_changes_nothing,
    TerminalConsumer: _terminal_session_is_two_entries,
}


@pytest.mark.engine
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("consumer", list(WEBSOCKET_COMMANDS), ids=lambda c: c.__name__)
def test_what_websocket_consumers_are_sent_is_audited_or_changes_nothing(consumer, admin_client):
    WEBSOCKET_COMMANDS[consumer](admin_client)


_RECEIVERS = ("receive", "receive_json", "websocket_receive")
_CHANNELS_BASES = (AsyncWebsocketConsumer, AsyncJsonWebsocketConsumer)


def _consumer_class(route) -> type:
    return route.callback.consumer_class


def test_no_websocket_consumer_takes_commands_without_an_audit_case():
    for route in websocket_urlpatterns:
        consumer = _consumer_class(route)
        own = [
            name
            for name in _RECEIVERS
            if getattr(consumer, name, None) is not getattr(_base_of(consumer), name, None)
        ]
        if own:
            assert consumer in WEBSOCKET_COMMANDS, (
                f"{consumer.__name__} ({route.pattern}) handles what the browser sends "
                f"({', '.join(own)}): add a case proving each command leaves one audit entry"
            )


def _base_of(consumer: type) -> type:
    for base in consumer.__mro__:
        if base in _CHANNELS_BASES:
            return base
    raise AssertionError(f"{consumer.__name__} is not a channels websocket consumer")


async def test_commands_sent_over_every_websocket_change_nothing(
    make_container, docker_api, admin_user
):
    """What an attacker would try on the sockets today: command-shaped frames change nothing."""
    from asgiref.sync import sync_to_async

    from tests.test_security import SAME_ORIGIN

    container = make_container(COMMAND)
    job = await Job.objects.acreate(kind="pull", title="Pull x", started_by_name="admin")
    client = await sync_to_async(_logged_in)(admin_user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    samples = {**_samples(container["Id"]), "job_id": str(job.pk)}
    frames = [
        {"action": "stop", "container": container["Id"]},
        {"type": "command", "command": "kill", "id": container["Id"]},
        {"type": "exec", "cmd": ["sh", "-c", "touch /pwned"]},
    ]
    for route in websocket_urlpatterns:
        path = "/engines/local/" + _fill(str(route.pattern), samples)
        communicator = WebsocketCommunicator(application, path, headers=[*SAME_ORIGIN, cookie])
        connected, _ = await communicator.connect(timeout=10)
        assert connected, path
        for frame in frames:
            await communicator.send_json_to(frame)
        if not issubclass(_consumer_class(route), AsyncJsonWebsocketConsumer):
            # A JSON consumer closes on anything but JSON, before any handler runs.
            await communicator.send_to(text_data="stop")
            await communicator.send_to(bytes_data=b"\x03kill\n")
        await communicator.disconnect(timeout=10)
    assert docker_api.inspect_container(container["Id"])["State"]["Running"]
    assert not await AuditEntry.objects.aexists()


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
