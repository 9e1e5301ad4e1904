"""A generated corpus (hypothesis, derandomized) over every form and every URL converter, sent
as an admin (the most code paths): no request may answer 500, and a request that failed may
create nothing, neither on the engine nor as a Job.

Each request is watched at the gateway's door (tests.engine_spy): the engine objects it made
and did not remove again must each be named by a successful audit entry of that request, and
its jobs too; a refused request (4xx) may make none. What successful requests made is removed
afterwards, and the engine is checked for anything left carrying the fuzz labels.

The engine is shared with other test runs, so the corpus keeps to what it may touch: POSTs
never reach another run's objects (a path parameter naming one is skipped), no network or
Dockerfile reaches an address outside this machine, host ports stay out of range, volume
drivers other than `local` are only sent in shapes the form refuses (an unknown driver makes
dockerd look for a plugin), and the two prunes, which take no input, are left to
test_audit_trail.
"""

import contextlib
import ipaddress
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import quote

import docker.errors
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from audit.models import AuditEntry
from dockerweb.references import REFERENCE_RE, reference_problem
from dockerweb.url_converters import (
    ContainerRefConverter,
    ImageRefConverter,
    NetworkRefConverter,
    VolumeNameConverter,
)
from images.models import Registry
from jobs.models import Job
from tests import engine as eng
from tests import fuzz_corpus as fz
from tests.engine_spy import spying_on_the_engine
from tests.test_security import close_streaming

pytestmark = pytest.mark.django_db(transaction=True)

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
JOB_TIMEOUT = 60
FUZZ_USER = "fuzz-admin"
# The fuzz's container, filled in when a request is sent: a Settings recreate replaces it.
OUR_CONTAINER, OUR_CONTAINER_SHORT = "{our-container}", "{our-container-short}"
CONVERTERS = {
    "container": ContainerRefConverter(),
    "image": ImageRefConverter(),
    "volume": VolumeNameConverter(),
    "network": NetworkRefConverter(),
}


@dataclass(frozen=True)
class Request:
    target: str
    method: str
    path: str
    data: dict = field(default_factory=dict)
    params: tuple = ()  # (kind, value) of each path parameter, for the guard
    files: dict = field(default_factory=dict)


@dataclass
class Ours:
    """The fuzz's own engine objects, which its POSTs may change."""

    container: str
    image_ref: str
    image_id: str
    volume: str
    network: str
    network_name: str
    registry_pk: int
    settings_base: dict = field(default_factory=dict)  # the Settings form as served
    containers: set = field(default_factory=set)
    images: set = field(default_factory=set)
    volumes: set = field(default_factory=set)
    networks: set = field(default_factory=set)


# -- what the corpus sends ---------------------------------------------------------------------


def _p(value: str) -> str:
    return quote(value, safe="")


@dataclass
class Form:
    """A form's valid values and, per field, what may replace them."""

    valid: dict
    broken: dict
    most: int = 3
    # Set in the sweep's base so each case stops at the engine's first check (runs are slow).
    sweep_base: dict = field(default_factory=dict)

    def strategy(self) -> st.SearchStrategy[dict]:
        """A valid form with up to `most` fields replaced by junk or near-valid values: each
        field's own checks run with the others valid, and an untouched form goes all the way."""

        @st.composite
        def draw(draw_one) -> dict:
            data = {key: draw_one(value) for key, value in self.valid.items()}
            fields = st.sets(st.sampled_from(sorted(self.broken)), max_size=self.most)
            for key in sorted(draw_one(fields)):
                data[key] = draw_one(self.broken[key])
            return data

        return draw()

    def base(self) -> dict:
        """The simplest valid form (deterministic): what the sweep breaks one field of."""
        quiet = settings(database=None, suppress_health_check=list(HealthCheck))
        simplest = find(st.fixed_dictionaries(self.valid), lambda _: True, settings=quiet)
        return {**simplest, **self.sweep_base}


@dataclass
class Path:
    strategy: st.SearchStrategy  # of (path, params)
    mine: tuple | None  # (path, params) of the fuzz's own object


def sweep(target: str, path: tuple, form: Form, files=None) -> list[Request]:
    """Every field of the form, one at a time, set to each of the critical values."""
    base = form.base()
    return [
        Request(target, "post", path[0], {**base, key: value}, path[1], files() if files else {})
        for key in sorted(form.broken)
        for value in fz.CRITICAL
    ]


def corpus(ours: Ours) -> list[tuple[str, int, st.SearchStrategy]]:
    """(target, examples, strategy of Request) for every form and every converter."""
    containers = fz.field(
        st.sampled_from([OUR_CONTAINER, OUR_CONTAINER_SHORT, "0" * 64]), fz.marked_name()
    )
    images = fz.image_refs([ours.image_ref, ours.image_id, ours.image_id[7:19]])
    volumes = fz.field(st.sampled_from([ours.volume, "a", "0" * 64]), fz.marked_name())
    networks = fz.field(
        st.sampled_from([ours.network, ours.network_name, "bridge", "a b", "é"]),
        fz.marked_name(),
    )
    paths = fz.field(st.sampled_from(["", "hello.txt", "sub", "sub/../..", "/etc", "a/" * 150]))
    text = fz.field()
    name = fz.valid_name()
    labels = st.just(fz.LABEL_LINES)
    flag = st.sampled_from(["", "on"])

    def post(target, path, data, files=None, sweep_files=None):
        """(strategy of Request, the sweep's requests)."""
        if not isinstance(path, Path):
            path = Path(st.just((path, ())), (path, ()))
        strategy = st.builds(
            lambda p, d, f: Request(target, "post", p[0], d, p[1], f or {}),
            path.strategy,
            data.strategy() if isinstance(data, Form) else data,
            files if files is not None else st.just({}),
        )
        swept = []
        if isinstance(data, Form) and path.mine is not None:
            swept = sweep(target, path.mine, data, sweep_files)
        return strategy, swept

    def at(kind, values, template, mine=None) -> Path:
        """The path of a form's object: often ours, so the form's own fields are what is
        tested; the converters have targets of their own below."""
        if mine is not None:
            values = st.one_of(st.just(mine), st.just(mine), values)
        ours_path = (template.format(_p(mine)), ((kind, mine),)) if mine is not None else None
        return Path(values.map(lambda v: (template.format(_p(v)), ((kind, v),))), ours_path)

    run_form = Form(
        {
            "image": st.sampled_from([eng.TEST_IMAGE, ours.image_ref]),
            "name": name | st.just(""),
            "command": st.sampled_from(["", "true", "sleep 1"]),
            "env": st.sampled_from(["", "A=1", "A=1\nB=x=y"]),
            "ports": st.sampled_from(["", "80", "53/udp"]),
            "volumes": st.sampled_from(["", "/data", f"{fz.MARK}-run:/data"]),
            "restart_policy": st.just("no"),
            "restart_max_retries": st.just(""),
            "auto_remove": flag,
            "labels": labels,
            "pull_first": st.just(""),
        },
        {
            "image": fz.image_refs([eng.TEST_IMAGE]),
            "name": fz.field(fz.marked_name()),
            "command": fz.field(st.sampled_from(["sh -c 'exit 3'", "'", "no-such-binary"])),
            "env": fz.field(fz.lines(fz.key_value_line(["A", "PATH", "a.b-c"]))),
            "ports": fz.field(fz.lines(fz.port_line())),
            "volumes": fz.field(fz.lines(fz.volume_line(), max_size=2)),
            "restart_policy": fz.field(st.sampled_from(["always", "on-failure", "x"])),
            "restart_max_retries": fz.field(fz.numbers()),
            "auto_remove": fz.field(),
            "labels": fz.labels(),
            "pull_first": st.sampled_from(["on", "x"]),
        },
        # An image the engine doesn't have: the form's checks all run, then "not on this
        # engine" before anything is created (the generated cases run containers).
        sweep_base={"image": f"{fz.MARK}-absent:1"},
    )
    settings_form = Form(
        {
            **{key: st.just(value) for key, value in ours.settings_base.items()},
            "step": st.sampled_from(["review", "review", "confirm", "edit"]),
            "env": st.sampled_from(["", "A=1"]),
            "memory": st.sampled_from(["", "64m", "1g"]),
            "cpus": st.sampled_from(["", "0.5", "1"]),
        },
        {
            "step": fz.field(),
            "name": fz.field(fz.marked_name()),
            "env": fz.field(fz.lines(fz.key_value_line(["A", "PATH"]))),
            "restart_policy": fz.field(st.sampled_from(["always", "on-failure"])),
            "max_retries": fz.field(fz.numbers()),
            "labels": fz.labels(),
            "memory": fz.field(st.sampled_from(fz.MEMORY)),
            "cpus": fz.field(st.sampled_from(fz.CPUS)),
            "ports": fz.field(fz.lines(fz.port_line(), max_size=2)),
            "volumes": fz.field(fz.lines(fz.volume_line(), max_size=2)),
            "tty": fz.field(),
        },
    )
    upload = st.builds(
        lambda name, body: {"file": _upload(name, body)},
        st.one_of(
            st.just("notes.txt"),
            st.just("notes.txt"),
            fz.field(st.sampled_from(["..", ".", "a/b", "a\\b", "x" * 256])),
        ),
        st.binary(max_size=2000),
    ) | st.just({})
    dockerfiles = fz.field(
        st.sampled_from(
            [f"FROM {eng.TEST_IMAGE}\nRUN exit 3\n", "FROM scratch\n", "FROM\n", "RUN true\n"]
        )
    )
    subnets = st.integers(min_value=0, max_value=255).map(lambda n: f"198.18.{n}.0/24")
    return [
        ("form: run container", 30, *post("run", "/containers/new/", run_form)),
        (
            "form: container settings",
            30,
            *post("settings", f"/containers/{OUR_CONTAINER}/settings/", settings_form),
        ),
        (
            "form: volume create",
            25,
            *post(
                "volume-create",
                "/volumes/new/",
                Form(
                    {"name": name | st.just(""), "driver": st.just("local"), "labels": labels},
                    {
                        "name": fz.field(fz.marked_name()),
                        # Only what the form refuses: see the module's docstring.
                        "driver": st.one_of(st.just(""), fz.junk().map(lambda v: f"{v} !")),
                        "driver_opts": fz.field(
                            fz.lines(fz.key_value_line(["type", "o", "device", "size"]))
                        ),
                        "labels": fz.labels(),
                    },
                ),
            ),
        ),
        (
            "form: volume file upload",
            20,
            *post(
                "upload",
                at("volume", volumes, "/volumes/{}/files/upload/", ours.volume),
                Form({"path": st.just("")}, {"path": paths}, most=1),
                files=upload,
                sweep_files=lambda: {"file": _upload("notes.txt", b"swept\n")},
            ),
        ),
        (
            "form: network create",
            25,
            *post(
                "network-create",
                "/networks/new/",
                Form(
                    {"name": name, "subnet": subnets | st.just(""), "labels": labels},
                    {
                        "name": fz.field(fz.marked_name()),
                        "subnet": fz.field(st.sampled_from(fz.SUBNETS)),
                        "gateway": fz.field(st.sampled_from(fz.GATEWAYS)),
                        "internal": fz.field(),
                        "labels": fz.labels(),
                    },
                ),
            ),
        ),
        (
            "form: network connect",
            15,
            *post(
                "connect",
                at("network", networks, "/networks/{}/connect/", ours.network),
                Form(
                    {"container": st.just(OUR_CONTAINER), "aliases": name | st.just("")},
                    {
                        "container": fz.field(st.just(OUR_CONTAINER_SHORT)),
                        "aliases": text,
                        "ipv4_address": fz.field(st.sampled_from(fz.GATEWAYS)),
                    },
                ),
            ),
        ),
        (
            "form: network disconnect",
            10,
            *post(
                "disconnect",
                at("network", networks, "/networks/{}/disconnect/", ours.network),
                Form({"container": st.just(OUR_CONTAINER)}, {"container": text}, most=1),
            ),
        ),
        (
            "form: pull",
            20,
            *post(
                "pull",
                "/images/pull/",
                Form({"image": st.just(f"{fz.MARK}-pull:1")}, {"image": images}, most=1),
            ),
        ),
        (
            "form: build",
            15,
            *post(
                "build",
                "/images/build/",
                Form(
                    {
                        "dockerfile_text": st.just(f"FROM {eng.TEST_IMAGE}\nRUN true\n"),
                        "dockerfile": st.just("Dockerfile"),
                        "tags": name.map(lambda n: f"{n}:1"),
                    },
                    {
                        "dockerfile_text": dockerfiles,
                        "dockerfile": fz.field(st.sampled_from(["../x", "/abs", "a/"])),
                        "tags": fz.field(fz.marked_name().map(lambda n: f"{n}:1")),
                        "buildargs": fz.field(fz.lines(fz.key_value_line(["A", "HTTP_PROXY"]))),
                        "nocache": fz.field(),
                    },
                ),
            ),
        ),
        (
            "form: tag",
            20,
            *post(
                "tag",
                at("image", images, "/images/{}/tag/", ours.image_ref),
                Form(
                    {"new_reference": name.map(lambda n: f"{n}:t")},
                    {"new_reference": fz.field(fz.marked_name().map(lambda n: f"{n}:t"))},
                    most=1,
                ),
            ),
        ),
        (
            "form: registry",
            15,
            *post(
                "registry",
                "/images/registries/",
                Form(
                    {
                        "address": st.just(f"{fz.MARK}.example:5000"),
                        "username": st.just("u"),
                        "secret": st.just("s3cret"),
                    },
                    {
                        "address": fz.field(
                            st.sampled_from(["https://r.example/", "[::1]:5000", "a:99999"])
                        ),
                        "username": text,
                        "secret": text,
                    },
                ),
            ),
        ),
        (
            "form: volume remove",
            10,
            *post(
                "volume-remove",
                at("volume", volumes, "/volumes/{}/remove/", ours.volume),
                # Never the exact name: the fuzz's own volume stays.
                Form({}, {"confirm_name": fz.field(st.just(ours.volume + " "))}, most=1),
            ),
        ),
        (
            "form: container remove",
            10,
            # Only on what isn't ours: removing is what the form is for, ours stays.
            *post(
                "container-remove",
                at("container", containers.filter(_not_ours(ours)), "/containers/{}/remove/"),
                st.fixed_dictionaries({"remove_volumes": st.sampled_from(["", "on", "x"])}),
            ),
        ),
        *converters(ours, containers, images, volumes, networks, paths),
    ]


def _upload(name: str, body: bytes) -> SimpleUploadedFile:
    """A file with exactly this name in the multipart body (the constructor would clean it,
    as Django's parser does on the way in: that is what is being tested)."""
    upload = SimpleUploadedFile("upload", body)
    upload._name = name
    return upload


def _not_ours(ours: Ours):
    return lambda value: value not in (OUR_CONTAINER, OUR_CONTAINER_SHORT)


def converters(ours, containers, images, volumes, networks, paths):
    """GETs and POSTs with random path parameters on every route that takes one."""

    def swept(target, method, kind, templates):
        return [
            Request(target, method, t.format(_p(v)), {}, ((kind, v),))
            for t in templates
            for v in fz.PATH_CRITICAL
        ]

    def get(target, kind, values, templates, query=None):
        query = st.just({}) if query is None else query
        strategy = st.builds(
            lambda v, t, q: Request(target, "get", t.format(_p(v)), q, ((kind, v),)),
            values,
            st.sampled_from(templates),
            query,
        )
        return strategy, swept(target, "get", kind, templates)

    def post(target, kind, values, templates):
        strategy = st.builds(
            lambda v, t: Request(target, "post", t.format(_p(v)), {}, ((kind, v),)),
            values,
            st.sampled_from(templates),
        )
        return strategy, swept(target, "post", kind, templates)

    container_pages = [
        "/containers/{}/",
        "/containers/{}/overview/",
        "/containers/{}/inspect/",
        "/containers/{}/header/",
        "/containers/{}/logs/download/",
        "/containers/{}/remove/",
        "/containers/{}/settings/",
    ]
    verbs = ("start", "stop", "restart", "pause", "unpause", "kill", "x")
    actions = [f"/containers/{{}}/{verb}/" for verb in verbs]
    query = st.fixed_dictionaries({"path": paths, "name": fz.junk(), "timestamps": fz.junk()})
    lists = st.builds(
        lambda path, q: Request("lists", "get", path, q),
        st.sampled_from(
            ["/containers/", "/images/", "/volumes/", "/networks/", "/jobs/", "/audit/"]
        ),
        st.fixed_dictionaries(
            {"q": fz.junk(), "state": fz.junk(), "page": fz.junk(), "image": fz.junk()}
        ),
    )
    uuids = st.one_of(st.uuids().map(str), fz.junk())
    ints = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), fz.junk())
    return [
        (
            "url: container (GET)",
            25,
            *get("c-get", "container", containers, container_pages, query),
        ),
        (
            "url: container (POST)",
            15,
            *post("c-post", "container", containers, actions),
        ),
        (
            "url: image (GET)",
            20,
            *get("i-get", "image", images, ["/images/{}/", "/images/{}/remove/"]),
        ),
        (
            "url: image (POST)",
            15,
            *post("i-post", "image", images, ["/images/{}/push/", "/images/{}/remove/"]),
        ),
        (
            "url: volume (GET)",
            20,
            *get(
                "v-get",
                "volume",
                volumes,
                ["/volumes/{}/files/", "/volumes/{}/files/download/", "/volumes/{}/remove/"],
                query,
            ),
        ),
        (
            "url: network (GET)",
            15,
            *get(
                "n-get",
                "network",
                networks,
                ["/networks/{}/", "/networks/{}/remove/", "/networks/{}/disconnect/"],
                st.fixed_dictionaries({"container": fz.junk()}),
            ),
        ),
        (
            "url: network (POST)",
            10,
            *post("n-post", "network", networks, ["/networks/{}/remove/"]),
        ),
        (
            "url: registry id (POST)",
            10,
            st.builds(
                lambda v: Request("r-post", "post", f"/images/registries/{_p(v)}/delete/"),
                ints,
            ),
            [Request("r-post", "post", f"/images/registries/{_p(v)}/delete/") for v in fz.INTS],
        ),
        (
            "url: job id (GET)",
            10,
            st.builds(lambda v: Request("j-get", "get", f"/jobs/{_p(v)}/"), uuids),
            [Request("j-get", "get", f"/jobs/{_p(v)}/") for v in fz.PATH_CRITICAL],
        ),
        ("url: list queries (GET)", 15, lists, []),
    ]


# -- sending, and judging each request ---------------------------------------------------------


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
            if key in data and _has_registry_host(data[key]):
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

    def _foreign_mount(self, line: str) -> bool:
        name = line.strip().split(":", 1)[0]
        return ":" in line and not name.startswith(("/", ".", "~")) and self._volume_elsewhere(name)

    def _filled(self, value):
        if not isinstance(value, str):
            return value
        current = self.ours.container
        for placeholder, filled in ((OUR_CONTAINER_SHORT, current[:12]), (OUR_CONTAINER, current)):
            value = value.replace(placeholder, filled).replace(_p(placeholder), filled)
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


# -- the test ----------------------------------------------------------------------------------


@pytest.fixture
def ours(docker_api, make_container, make_image):
    container = make_container(COMMAND, start=False)
    reference, image_id = make_image()
    volume = eng.unique_name("dwt-fuzzvol")
    docker_api.create_volume(name=volume, labels=eng.TEST_LABELS)
    network_name = eng.unique_name("dwt-fuzznet")
    network = docker_api.create_network(network_name, driver="bridge", labels=eng.TEST_LABELS)
    registry = Registry(address="fuzz-registry.example:5000", username="u")
    registry.set_secret("fuzz-secret")
    registry.save()
    found = Ours(
        container=container["Id"],
        image_ref=reference,
        image_id=image_id,
        volume=volume,
        network=network["Id"],
        network_name=network_name,
        registry_pk=registry.pk,
        containers={container["Id"]},
        images={image_id},
        volumes={volume},
        networks={network["Id"]},
    )
    yield found
    for container_id in found.containers:
        with contextlib.suppress(docker.errors.APIError):
            docker_api.remove_container(container_id, force=True, v=True)
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_network(network["Id"])
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_volume(volume, force=True)


def test_generated_corpus_over_every_form_and_converter_gives_no_500_and_creates_nothing(
    docker_api, ours, capsys
):
    user = User.objects.create_superuser(FUZZ_USER, password="fuzz-admin-pw-1")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    ours.settings_base = served_settings(client, ours.container)
    before = leftovers(docker_api, ours)
    with spying_on_the_engine() as spy:
        fuzz = Fuzz(client, user, docker_api, ours, spy)
        try:
            for label, examples, strategy, swept in corpus(ours):
                started = time.monotonic()
                run_target(fuzz, label, examples, strategy)
                for request in swept:
                    fuzz.send(label, request, swept=True)
                fuzz.seconds[label] = time.monotonic() - started
        finally:
            clean_up(fuzz)
    after = leftovers(docker_api, ours)

    def total(key: str) -> int:
        return sum(c[key] for c in fuzz.counts.values())

    generated, swept, crashes = total("generated"), total("swept"), total("5xx")
    with capsys.disabled():
        print(
            f"\nfuzz corpus: {generated} generated + {swept} swept requests sent, "
            f"{total('skipped')} skipped by the guard"
        )
        for label, counted in fuzz.counts.items():
            shown = [f"{k} {counted[k]}" for k in ("generated", "swept", "skipped") if counted[k]]
            shown += [f"{k} {v}" for k, v in sorted(counted.items()) if k.endswith("xx")]
            print(f"  {label:26} " + "  ".join(shown) + f"  ({fuzz.seconds.get(label, 0):.1f} s)")
        print(
            f"  500s: {crashes}; leaks: {len(fuzz.leaks)}; fuzz objects before/after: "
            f"{before} / {after}"
        )
    assert generated >= 300, generated
    assert not fuzz.crashes, fuzz.crashes[:10]
    assert not fuzz.leaks, "\n".join(map(repr, fuzz.leaks[:10]))
    assert after == before, (before, after)
    assert not Job.objects.filter(started_by=user).exists()


def served_settings(client: Client, container_id: str) -> dict:
    form = client.get(f"/containers/{container_id}/settings/").context["form"]
    data = {name: form[name].value() for name in form.fields}
    return {k: "on" if v is True else "" if v in (None, False) else v for k, v in data.items()}


def run_target(fuzz: Fuzz, label: str, examples: int, strategy) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(request: Request) -> None:
        fuzz.send(label, request)

    one()
