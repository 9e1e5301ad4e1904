"""Sending the fuzz's requests and judging each: the guard that keeps them to the fuzz's own
objects and to this machine, the per-request accounting of what was created, the clean-up."""

import contextlib
import ipaddress
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import docker.errors
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEntry
from dockerweb import engines
from dockerweb.references import REFERENCE_RE, reference_problem
from dockerweb.url_converters import (
    ContainerRefConverter,
    ImageRefConverter,
    NetworkRefConverter,
    VolumeNameConverter,
)
from images.models import Registry
from jobs.models import Job
from networks.forms import find_container
from tests import engine as eng
from tests import fuzz_corpus as fz
from tests.fuzz_targets import OUR_CONTAINER, OUR_CONTAINER_SHORT, Ours, Request, path_piece
from tests.test_security import close_streaming

JOB_TIMEOUT = 60
# Per test session: what the fuzz user made is told apart from other runs on the shared engine.
FUZZ_USER = f"fuzz-admin-{eng.SESSION}"
CONVERTERS = {
    "container": ContainerRefConverter(),
    "image": ImageRefConverter(),
    "volume": VolumeNameConverter(),
    "network": NetworkRefConverter(),
}


@dataclass
class Fuzz:
    client: Client
    user: User
    docker: docker.APIClient
    ours: Ours
    spy: object
    counts: dict = field(default_factory=lambda: defaultdict(Counter))
    crashes: list = field(default_factory=list)
    leaks: list = field(default_factory=list)
    made: dict = field(default_factory=lambda: defaultdict(set))
    jobs: set = field(default_factory=set)
    seconds: dict = field(default_factory=dict)

    # The guard: POSTs only reach the fuzz's own objects.

    def _foreign(self, kind: str, value: str) -> bool:
        converter = CONVERTERS[kind]
        if not re.fullmatch(converter.regex, value):
            return False  # the route can't match: a 404 before the engine
        try:
            converter.to_python(value)
        except ValueError:
            return False
        ours = self.ours
        try:
            if kind == "container":
                found = self.docker.inspect_container(value)["Id"]
                return found not in ours.containers
            if kind == "image":
                found = self.docker.inspect_image(value)["Id"]
                return found not in ours.images
            if kind == "volume":
                return self.docker.inspect_volume(value)["Name"] not in ours.volumes
            found = self.docker.inspect_network(value)["Id"]
            return found not in ours.networks
        except docker.errors.NotFound:
            return False
        except docker.errors.APIError:
            return True  # can't tell: leave it alone

    def _exists_elsewhere(self, reference: str) -> bool:
        """A name:tag some other image of the engine already has (a tag would be moved)."""
        if reference_problem(reference):
            return False
        with contextlib.suppress(docker.errors.APIError):
            return self.docker.inspect_image(reference)["Id"] not in self.ours.images
        return False

    def _safe_data(self, request: Request) -> dict | None:
        """The form data with anything that could reach outside this machine, or another
        run's objects, made harmless; None to skip the case."""
        data = dict(request.data)
        for key in ("image",):
            # (A list under "image" is the images prune's ids, not a reference.)
            if isinstance(data.get(key), str) and _has_registry_host(data[key]):
                data[key] = f"{fz.MARK}-hosted:1"
        if "dockerfile_text" in data:
            data["dockerfile_text"] = _local_dockerfile(data["dockerfile_text"])
        if request.target == "volume-create" and _plugin_lookup(data.get("driver", "")):
            data["driver"] = f"{data['driver']} !"
        if "subnet" in data and not _safe_subnet(data["subnet"]):
            data["subnet"] = ""
        if request.target in ("tag", "build"):
            key = "new_reference" if request.target == "tag" else "tags"
            if any(self._exists_elsewhere(t) for t in re.split(r"[\s,]+", data[key].strip())):
                return None
        if request.target == "volume-create":
            name = data["name"].strip()
            if name and self._volume_elsewhere(name):
                return None
        if request.target == "prune-volumes" and any(
            self._volume_elsewhere(name.strip()) for name in data["volume"]
        ):
            return None  # a volume someone else has: a prune must never reach it
        if request.target == "connect" and self._foreign_container(data.get("container", "")):
            return None
        if "volumes" in data:
            data["volumes"] = "\n".join(
                line for line in data["volumes"].splitlines() if not self._foreign_mount(line)
            )
        return data

    def _volume_elsewhere(self, name: str) -> bool:
        if not re.fullmatch(VolumeNameConverter.regex, name):
            return False
        with contextlib.suppress(docker.errors.APIError):
            return self.docker.inspect_volume(name)["Name"] not in self.ours.volumes
        return False

    def _foreign_container(self, reference) -> bool:
        """Another run's container, as the connect form finds it (in the live model, by
        name, id or id prefix): connecting it would change it."""
        reference = str(reference).strip()
        if not reference:
            return False
        found = find_container(engines.current().live(), reference)
        return found is not None and found.id not in self.ours.containers

    def _foreign_mount(self, line: str) -> bool:
        name = line.strip().split(":", 1)[0]
        return ":" in line and not name.startswith(("/", ".", "~")) and self._volume_elsewhere(name)

    def _filled(self, value):
        if not isinstance(value, str):
            return value
        current = self.ours.container
        for placeholder, filled in ((OUR_CONTAINER_SHORT, current[:12]), (OUR_CONTAINER, current)):
            value = value.replace(placeholder, filled).replace(path_piece(placeholder), filled)
        return value

    def send(self, target_label: str, request: Request, *, swept: bool = False) -> None:
        request = Request(
            request.target,
            request.method,
            self._filled(request.path),
            {key: self._filled(value) for key, value in request.data.items()},
            tuple((kind, self._filled(value)) for kind, value in request.params),
            request.files,
        )
        if request.method == "post" and any(self._foreign(k, v) for k, v in request.params):
            self.counts[target_label]["skipped"] += 1
            return
        data = self._safe_data(request) if request.method == "post" else request.data
        if data is None:
            self.counts[target_label]["skipped"] += 1
            return
        path = request.path
        before_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
        before_jobs = set(Job.objects.filter(started_by=self.user).values_list("id", flat=True))
        mark = self.spy.mark()
        for upload in request.files.values():
            upload.seek(0)
        if request.method == "get":
            response = self.client.get(path, data)
        else:
            response = self.client.post(path, {**data, **request.files})
        if response.streaming:
            # Read it as a browser would: the body is where a download can still fail.
            with contextlib.suppress(Exception):
                for _chunk in response.streaming_content:
                    pass
            close_streaming(response)
        status = response.status_code
        self.counts[target_label][f"{status // 100}xx"] += 1
        self.counts[target_label]["swept" if swept else "generated"] += 1
        if status >= 500:
            self.crashes.append((target_label, path[:200], _short(data), status))
        self._judge(target_label, request, path, data, status, mark, before_audit, before_jobs)
        if request.target == "settings" and status == 302:
            new_id = response["Location"].strip("/").split("/")[-1]
            if re.fullmatch("[0-9a-f]{64}", new_id):
                self.ours.container = new_id
                self.ours.containers.add(new_id)

    def _still_there(self, kind: str, name: str) -> bool:
        inspect = {
            "container": self.docker.inspect_container,
            "volume": self.docker.inspect_volume,
            "network": self.docker.inspect_network,
        }[kind]
        try:
            inspect(name)
        except docker.errors.NotFound:
            return False
        return True

    def _judge(self, label, request, path, data, status, mark, before_audit, before_jobs):
        made = self.spy.created(mark, thread=threading.current_thread().name)
        # The engine's word on what is left: it removes an auto-remove container itself.
        created = {
            kind: alive
            for kind, ids in made.items()
            if (alive := {i for i in ids if self._still_there(kind, i)})
        }
        entries = list(
            AuditEntry.objects.filter(
                id__gt=before_audit or 0, user=self.user, outcome=AuditEntry.Outcome.OK
            )
        )
        jobs = set(Job.objects.filter(started_by=self.user).values_list("id", flat=True))
        new_jobs = jobs - before_jobs
        self.jobs |= new_jobs
        for kind, ids in created.items():
            self.made[kind] |= ids
        for entry in entries:
            if entry.action in ("registry.add", "registry.replace"):
                self.made["registry"].add(entry.target_name)  # the address
            if entry.action == "image.tag":
                self.made["tag"].add(entry.detail.removeprefix("tagged as "))
        where = (label, path[:120], _short(data), status)
        if status >= 400:
            if created or new_jobs or entries:
                self.leaks.append((*where, created, len(new_jobs), [e.action for e in entries]))
            return
        audited = {e.target_id for e in entries}
        if any(e.action in ("container.run", "container.recreate") for e in entries):
            # Named volumes a run creates for its mounts come with the container's entry.
            created.pop("volume", None)
        for kind, ids in created.items():
            unaudited = {i for i in ids if not any(a and i.startswith(a) for a in audited)}
            if unaudited:
                self.leaks.append((*where, {kind: unaudited}, "not in an audit entry"))
        for job in new_jobs:
            if not any(str(job) in e.detail for e in entries):
                self.leaks.append((*where, f"job {job}", "not in an audit entry"))


def _short(data: dict) -> dict:
    return {k: (v[:60] + "…" if isinstance(v, str) and len(v) > 60 else v) for k, v in data.items()}


def _has_registry_host(value: str) -> bool:
    """A reference naming a registry host: a pull would go to it (Docker Hub names don't)."""
    match = REFERENCE_RE.match(value.strip())
    if not match:
        return False
    first, _, rest = match.group("name").partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


def _local_dockerfile(text: str) -> str:
    """No instruction that would fetch from a network address."""
    kept = []
    for line in text.splitlines():
        words = line.strip().split()
        fetches = "://" in line or (
            words
            and words[0].upper() in ("FROM", "ADD", "COPY", "ONBUILD")
            and any(_has_registry_host(w) for w in words[1:])
        )
        kept.append("# left out by the fuzz" if fetches else line)
    return "\n".join(kept)


def _plugin_lookup(driver: str) -> bool:
    """Whether the engine would go looking for a volume plugin of this name (about 10 s,
    retried): any driver name of plugin shape but `local`."""
    name = driver.strip()
    return name != "local" and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*", name) is not None


def _safe_subnet(value: str) -> bool:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return True  # the form refuses it
    return network.version == 4 and network.subnet_of(ipaddress.ip_network(fz.SAFE_SUBNET))


# -- cleaning up -------------------------------------------------------------------------------


def wait_for_jobs(job_ids) -> None:
    names = {f"{job}" for job in job_ids}
    for thread in threading.enumerate():
        if thread.name.startswith("job-") and thread.name.split("-", 2)[-1] in names:
            thread.join(timeout=JOB_TIMEOUT)
            assert not thread.is_alive(), f"{thread.name} did not end"


def clean_up(fuzz: Fuzz) -> None:
    api = fuzz.docker
    wait_for_jobs(fuzz.jobs)
    for job in Job.objects.filter(id__in=fuzz.jobs):
        for reference in {*job.result.get("tags", ()), job.result.get("image", "")} - {""}:
            if reference not in (fuzz.ours.image_id, fuzz.ours.image_ref):
                with contextlib.suppress(docker.errors.APIError):
                    api.remove_image(reference, force=True)
    Job.objects.filter(id__in=fuzz.jobs).delete()
    for container in fuzz.made["container"]:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(container, force=True, v=True)
    for network in fuzz.made["network"]:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_network(network)
    for volume in fuzz.made["volume"]:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_volume(volume, force=True)
    # Named volumes a run or a recreate mounted (made by the engine, not through the form).
    for volume in api.volumes(filters={"name": fz.MARK}).get("Volumes") or []:
        if volume["Name"].startswith(fz.MARK):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_volume(volume["Name"], force=True)
    for tag in fuzz.made["tag"]:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_image(tag)
    Registry.objects.filter(address__in=fuzz.made["registry"]).delete()


def leftovers(api, ours: Ours) -> dict[str, int]:
    """Engine objects carrying the fuzz labels (or made by the fuzz user) right now, other
    than the fuzz's own (whose labels a Settings recreate may have changed)."""
    label = {"label": [f"test.dockerweb.fuzz={eng.SESSION}"]}
    by_user = {"label": [f"dockerweb.created-by={FUZZ_USER}"]}
    containers = {c["Id"] for c in api.containers(all=True, filters=label)}
    containers |= {c["Id"] for c in api.containers(all=True, filters=by_user)}
    return {
        "containers": len(containers - ours.containers),
        "volumes": len(
            {v["Name"] for v in api.volumes(filters=label).get("Volumes") or []}
            | {
                v["Name"]
                for v in api.volumes(filters={"name": fz.MARK}).get("Volumes") or []
                if v["Name"].startswith(fz.MARK)
            }
        ),
        "networks": len(api.networks(filters=label)),
        "images": len(api.images(filters={"label": [f"dockerweb.built-by={FUZZ_USER}"]})),
    }
