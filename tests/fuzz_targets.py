"""What the input fuzz sends: one target per form and per URL converter, each a hypothesis
strategy of requests (generated cases) and a sweep (each field and path parameter through
fuzz_corpus.CRITICAL once). Values come from tests.fuzz_corpus."""

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

from dockerweb.url_converters import VolumeNameConverter
from tests import engine as eng
from tests import fuzz_corpus as fz

# The fuzz's container, filled in when a request is sent: a Settings recreate replaces it.
OUR_CONTAINER, OUR_CONTAINER_SHORT = "{our-container}", "{our-container-short}"


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


def path_piece(value: str) -> str:
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
        ours_path = (
            (template.format(path_piece(mine)), ((kind, mine),)) if mine is not None else None
        )
        return Path(values.map(lambda v: (template.format(path_piece(v)), ((kind, v),))), ours_path)

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
        (
            "form: run container",
            30,
            *post("run", "/engines/local/containers/new/advanced/", run_form),
        ),
        (
            "form: card create",
            15,
            *post(
                "card-create",
                "/engines/local/containers/new/create/",
                Form(
                    {"image": st.sampled_from([eng.TEST_IMAGE, ours.image_ref]), "q": st.just("")},
                    {"image": images, "q": fz.field()},
                    most=1,
                    # Absent: each swept case starts a pull job rather than a container.
                    sweep_base={"image": f"{fz.MARK}-absent:1"},
                ),
            ),
        ),
        (
            "form: container settings",
            30,
            *post(
                "settings", f"/engines/local/containers/{OUR_CONTAINER}/settings/", settings_form
            ),
        ),
        (
            "form: volume create",
            25,
            *post(
                "volume-create",
                "/engines/local/volumes/new/",
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
                at("volume", volumes, "/engines/local/volumes/{}/files/upload/", ours.volume),
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
                "/engines/local/networks/new/",
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
                at("network", networks, "/engines/local/networks/{}/connect/", ours.network),
                Form(
                    {"container": st.just(OUR_CONTAINER), "aliases": name | st.just("")},
                    {
                        "container": fz.field(
                            st.sampled_from([OUR_CONTAINER_SHORT, "0" * 64]), fz.marked_name()
                        ),
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
                at("network", networks, "/engines/local/networks/{}/disconnect/", ours.network),
                Form({"container": st.just(OUR_CONTAINER)}, {"container": text}, most=1),
            ),
        ),
        (
            "form: pull",
            20,
            *post(
                "pull",
                "/engines/local/images/pull/",
                Form({"image": st.just(f"{fz.MARK}-pull:1")}, {"image": images}, most=1),
            ),
        ),
        (
            "form: build",
            15,
            *post(
                "build",
                "/engines/local/images/build/",
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
                at("image", images, "/engines/local/images/tag/{}/", ours.image_ref),
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
                "/engines/local/images/registries/",
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
                at("volume", volumes, "/engines/local/volumes/{}/remove/", ours.volume),
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
                at(
                    "container",
                    containers.filter(_not_ours(ours)),
                    "/engines/local/containers/{}/remove/",
                ),
                st.fixed_dictionaries({"remove_volumes": st.sampled_from(["", "on", "x"])}),
            ),
        ),
        (
            "form: prune stopped containers",
            10,
            # Never ours (a stopped one would go): the ids posted back are what is tested.
            *post(
                "prune-containers",
                "/engines/local/dashboard/prune/containers/",
                st.fixed_dictionaries(
                    {"container": st.lists(containers.filter(_not_ours(ours)), max_size=3)}
                ),
            ),
        ),
        (
            "form: prune build cache",
            10,
            *post(
                "prune-build-cache",
                "/engines/local/dashboard/prune/build-cache/",
                st.fixed_dictionaries({"record": st.lists(fz.field(), max_size=3)}),
            ),
        ),
        (
            "form: prune dangling images",
            10,
            # Only ids no other run has (ours is tagged: kept), and junk: what is posted back
            # is what is tested, and a prune must never reach another run's images.
            *post(
                "prune-images",
                "/engines/local/images/prune/",
                st.fixed_dictionaries(
                    {"image": st.lists(images.filter(_no_foreign_image(ours)), max_size=3)}
                ),
            ),
        ),
        (
            "form: prune unused volumes",
            10,
            # Never ours (unused, it would go), nor a name another run may hold.
            *post(
                "prune-volumes",
                "/engines/local/volumes/prune/",
                st.fixed_dictionaries(
                    {"volume": st.lists(volumes.filter(_no_foreign_volume(ours)), max_size=3)}
                ),
            ),
        ),
        (
            # On the main engine, which is no swarm manager: nothing reaches the engine's
            # service calls, and the form's own checks are what is tested.
            "form: new swarm service",
            15,
            *post(
                "service-create",
                "/engines/local/swarm/services/new/",
                Form(
                    {
                        "image": st.just(ours.image_ref),
                        "name": name,
                        "replicas": st.sampled_from(["0", "1"]),
                        "labels": labels,
                    },
                    {
                        "image": fz.field(),
                        "name": fz.field(fz.marked_name()),
                        "replicas": fz.field(fz.numbers()),
                        "ports": fz.field(fz.lines(fz.port_line(), max_size=2)),
                        "env": fz.field(fz.lines(fz.key_value_line(["A", "PATH"]))),
                        "mounts": fz.field(fz.lines(fz.volume_line(), max_size=2)),
                        "command": fz.field(),
                        "labels": fz.labels(),
                    },
                ),
            ),
        ),
        (
            "form: swarm service scale and image",
            10,
            *post(
                "service-change",
                "/engines/local/swarm/services/no-such-service/scale/",
                Form(
                    {"replicas": st.sampled_from(["0", "3"])},
                    {"replicas": fz.field(fz.numbers()), "image": fz.field()},
                ),
            ),
        ),
        (
            "form: theme",
            10,
            *post(
                "theme",
                "/preferences/theme/",
                Form(
                    {"theme": st.sampled_from(["light", "dark", "auto"]), "next": st.just("/")},
                    {"theme": text, "next": fz.field(st.sampled_from(["//evil.example/", "/x"]))},
                ),
            ),
        ),
        (
            "form: engine add",
            20,
            *post(
                "engine-add",
                "/settings/engines/new/",
                Form(
                    # The main engine's own socket: a valid form is verified and stored
                    # (a database row only; the test database goes with the test).
                    {"name": name, "address": st.just(settings_docker_host())},
                    {
                        "name": fz.field(fz.marked_name(), st.just("local")),
                        # Only this machine: a refused port, a missing socket, odd shapes.
                        "address": fz.field(st.sampled_from(ENGINE_ADDRESSES)),
                        "tls_ca": fz.field(st.just(PEM_LOOKALIKE)),
                        "tls_cert": fz.field(st.just(PEM_LOOKALIKE)),
                        "tls_key": fz.field(st.just(PEM_LOOKALIKE)),
                        "ssh_key": fz.field(st.just(PEM_LOOKALIKE)),
                    },
                ),
                files=st.fixed_dictionaries(
                    {},
                    optional={
                        "tls_ca_file": st.binary(max_size=300).map(lambda b: _upload("ca.pem", b)),
                        "ssh_key_file": st.binary(max_size=300).map(lambda b: _upload("id", b)),
                    },
                ),
            ),
        ),
        (
            "form: engine grant",
            10,
            *post(
                "engine-grant",
                "/settings/engines/local/access/",
                Form(
                    {"user": st.sampled_from(["1", "2"]), "role": st.sampled_from(["1", "2"])},
                    {"user": fz.field(st.sampled_from(INTS_NEAR)), "role": fz.field()},
                ),
            ),
        ),
        *converters(ours, containers, images, volumes, networks, paths),
    ]


# The engine form's addresses: all on this machine (nothing listens on port 1).
ENGINE_ADDRESSES = [
    "tcp://127.0.0.1:1",
    "ssh://root@127.0.0.1:1",
    "unix:///nonexistent/docker.sock",
    "tcp://127.0.0.1:99999",
    "tcp://127.0.0.1",
    "ssh://127.0.0.1",
    "unix://relative.sock",
    "http://127.0.0.1:1",
    "tcp://user:pw@127.0.0.1:1",
]
PEM_LOOKALIKE = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
INTS_NEAR = ["0", "1", "2", "-1", "9" * 30]


def settings_docker_host() -> str:
    from django.conf import settings

    return settings.DOCKER_HOST


def _upload(name: str, body: bytes) -> SimpleUploadedFile:
    """A file with exactly this name in the multipart body (the constructor would clean it,
    as Django's parser does on the way in: that is what is being tested)."""
    upload = SimpleUploadedFile("upload", body)
    upload._name = name
    return upload


def _not_ours(ours: Ours):
    return lambda value: value not in (OUR_CONTAINER, OUR_CONTAINER_SHORT)


_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_VOLUME_NAME = re.compile(VolumeNameConverter.regex)


def _no_foreign_image(ours: Ours):
    """What a prune may be sent: not an image id at all, ours, or one nobody has."""
    return lambda value: (
        not _IMAGE_ID.fullmatch(value.strip())
        or value.strip()
        in (
            ours.image_id,
            "sha256:" + "0" * 64,
        )
    )


def _no_foreign_volume(ours: Ours):
    """Not a volume name at all, or one of this run's marked names (never the fuzz's own
    volume), or one nobody has."""
    return lambda value: (
        value.strip() != ours.volume
        and (
            not _VOLUME_NAME.fullmatch(value.strip())
            or value.strip().startswith(fz.MARK)
            or value.strip() == "0" * 64
        )
    )


def converters(ours, containers, images, volumes, networks, paths):
    """GETs and POSTs with random path parameters on every route that takes one."""

    def swept(target, method, kind, templates):
        return [
            Request(target, method, t.format(path_piece(v)), {}, ((kind, v),))
            for t in templates
            for v in fz.PATH_CRITICAL
        ]

    def get(target, kind, values, templates, query=None):
        query = st.just({}) if query is None else query
        strategy = st.builds(
            lambda v, t, q: Request(target, "get", t.format(path_piece(v)), q, ((kind, v),)),
            values,
            st.sampled_from(templates),
            query,
        )
        return strategy, swept(target, "get", kind, templates)

    def post(target, kind, values, templates):
        strategy = st.builds(
            lambda v, t: Request(target, "post", t.format(path_piece(v)), {}, ((kind, v),)),
            values,
            st.sampled_from(templates),
        )
        return strategy, swept(target, "post", kind, templates)

    container_pages = [
        "/engines/local/containers/{}/",
        "/engines/local/containers/{}/overview/",
        "/engines/local/containers/{}/inspect/",
        "/engines/local/containers/{}/header/",
        "/engines/local/containers/{}/logs/download/",
        "/engines/local/containers/{}/remove/",
        "/engines/local/containers/{}/settings/",
    ]
    verbs = ("start", "stop", "restart", "pause", "unpause", "kill", "x")
    actions = [f"/engines/local/containers/{{}}/{verb}/" for verb in verbs]
    query = st.fixed_dictionaries({"path": paths, "name": fz.junk(), "timestamps": fz.junk()})
    lists = st.builds(
        lambda path, q: Request("lists", "get", path, q),
        st.sampled_from(
            [
                "/engines/local/containers/",
                "/engines/local/images/",
                "/engines/local/volumes/",
                "/engines/local/networks/",
                "/engines/local/jobs/",
                "/engines/local/audit/",
            ]
        ),
        st.fixed_dictionaries(
            {
                "q": fz.junk(),
                "state": fz.junk(),
                "page": fz.junk(),
                "image": fz.junk(),
                "show": fz.junk(),  # the images list's filter
            }
        ),
    )
    # The sizes the volume pages fill in after: which volumes, by name, filter or prune.
    sizes = st.builds(
        lambda q: Request("v-sizes", "get", "/engines/local/volumes/sizes/", q),
        st.fixed_dictionaries(
            {}, optional={"volume": volumes, "q": fz.junk(), "unused": fz.junk()}
        ),
    )
    # Not `unused` one value at a time: any value lists every container (slow at 10,000).
    swept_sizes = [
        Request("v-sizes", "get", "/engines/local/volumes/sizes/", {key: value})
        for key in ("volume", "q")
        for value in fz.PATH_CRITICAL
    ]
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
            *get(
                "i-get",
                "image",
                images,
                ["/engines/local/images/view/{}/", "/engines/local/images/remove/{}/"],
            ),
        ),
        (
            "url: image (POST)",
            15,
            *post(
                "i-post",
                "image",
                images,
                ["/engines/local/images/push/{}/", "/engines/local/images/remove/{}/"],
            ),
        ),
        (
            "url: volume (GET)",
            20,
            *get(
                "v-get",
                "volume",
                volumes,
                [
                    "/engines/local/volumes/{}/files/",
                    "/engines/local/volumes/{}/files/download/",
                    "/engines/local/volumes/{}/remove/",
                ],
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
                [
                    "/engines/local/networks/{}/",
                    "/engines/local/networks/{}/remove/",
                    "/engines/local/networks/{}/disconnect/",
                ],
                st.fixed_dictionaries({"container": fz.junk()}),
            ),
        ),
        (
            "url: network (POST)",
            10,
            *post("n-post", "network", networks, ["/engines/local/networks/{}/remove/"]),
        ),
        (
            "url: registry id (POST)",
            10,
            st.builds(
                lambda v: Request(
                    "r-post", "post", f"/engines/local/images/registries/{path_piece(v)}/delete/"
                ),
                ints,
            ),
            [
                Request(
                    "r-post", "post", f"/engines/local/images/registries/{path_piece(v)}/delete/"
                )
                for v in fz.INTS
            ],
        ),
        (
            "url: job id (GET)",
            10,
            st.builds(
                lambda v: Request("j-get", "get", f"/engines/local/jobs/{path_piece(v)}/"), uuids
            ),
            [
                Request("j-get", "get", f"/engines/local/jobs/{path_piece(v)}/")
                for v in fz.PATH_CRITICAL
            ],
        ),
        ("url: list queries (GET)", 15, lists, []),
        ("url: volume sizes (GET)", 10, sizes, swept_sizes),
    ]
