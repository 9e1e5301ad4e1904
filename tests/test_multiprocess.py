"""The portal as several Daphne processes on one PostgreSQL and one Redis, behind nginx.

One set-up for the module (tests/services.py): a private PostgreSQL, Redis and nginx, and
three portal processes on them: A and B behind nginx, and C, which publishes the engine's
changes (its live socket opened first, so it holds the engine's lease) and is killed with
SIGKILL in the middle of a pull. Idle live sockets on A and B (one through nginx) are opened
first and looked at last: they must have stayed open at least IDLE_SECONDS, while the other
tests ran.
"""

import asyncio
import contextlib
import io
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import docker
import psycopg
import pytest
from channels_redis.core import RedisChannelLayer
from cryptography.fernet import Fernet
from django.urls import reverse
from redis import Redis

from dockerweb.channel_layers import redis_layer
from dockerweb.live_model.leader import lease_key
from tests import engine as eng
from tests import services
from tests.conftest import Portal, start_portal, stop_portal
from tests.engine import wait_for
from tests.live_socket import Socket, job_path, live_path
from tests.registry import SlowProxy

IDLE_SECONDS = 60
ENGINE = "local"


class Cluster:
    def __init__(self, stack: contextlib.ExitStack, tmp: Path):
        self.database = stack.enter_context(services.postgres())
        self.redis_url = stack.enter_context(services.redis())
        shared = {
            "DATABASE_URL": self.database,
            "REDIS_URL": self.redis_url,
            # Sessions and stored secrets must read the same on every process.
            "DOCKERWEB_SECRET_KEY": uuid.uuid4().hex * 2,
            "DOCKERWEB_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        self.processes = {}
        for name in ("a", "b", "c"):
            (tmp / name).mkdir(mode=0o700)
            portal, process = start_portal(tmp / name, shared, migrate=name == "a")
            stack.callback(stop_portal, process)
            self.processes[name] = (portal, process)
        self.a, self.b, self.c = (self.processes[n][0] for n in ("a", "b", "c"))
        front_url = stack.enter_context(services.nginx([self.a.host, self.b.host]))
        self.front = Portal(url=front_url, data_dir=tmp, env=self.a.env)
        self.sessionid = self.a.session().cookies["sessionid"]
        self.redis = Redis.from_url(self.redis_url)
        stack.callback(self.redis.close)
        self.sockets: list[Socket] = []
        stack.callback(self.close_sockets)

    def socket(self, portal: Portal, path: str) -> Socket:
        opened = Socket(portal.url, path, self.sessionid)
        self.sockets.append(opened)
        return opened

    def close_sockets(self) -> None:
        for opened in self.sockets:
            with contextlib.suppress(Exception):
                opened.close()

    def publisher_pid(self) -> int | None:
        """The pid of the process holding the engine's lease (its token starts host:pid)."""
        token = self.redis.get(lease_key(ENGINE))
        return int(token.decode().split(":")[1]) if token else None

    def pid(self, name: str) -> int:
        return self.processes[name][1].pid

    def group_size(self, group: str) -> int:
        return self.redis.zcard(f"asgi:group:{group}")


@pytest.fixture(scope="module")
def cluster(docker_api, test_image, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        made = Cluster(stack, tmp_path_factory.mktemp("multiprocess"))
        # C's socket first: C takes the engine's lease and publishes until it is killed.
        made.c_socket = made.socket(made.c, live_path())
        wait_for(lambda: made.publisher_pid() == made.pid("c"), timeout=30, message="C to publish")
        made.idle = {
            "a": made.socket(made.a, live_path()),
            "b": made.socket(made.b, live_path()),
            "through nginx": made.socket(made.front, live_path()),
        }
        yield made


# -- what a container does on each socket ----------------------------------------------------


def _mine(message: dict, container_id: str) -> list[str]:
    """What `message` says of the container, as countable kinds: a container message is one,
    each change in a list message one (how changes share list messages depends on timing)."""
    if message.get("type") == "container" and message.get("id") == container_id:
        kinds = [f"container:{message.get('event') or message.get('action')}"]
        # Its removal, whichever event the model learnt it from: a batch that fetched the
        # container just after `rm` (for the stop's network "disconnect", say) already finds
        # it gone, and the "destroy" that follows changes nothing.
        return kinds + ["container:removed"] if message.get("removed") else kinds
    if message.get("type") == "list" and message.get("kind") == "container":
        return [f"list:{c['action']}" for c in message["changes"] if c["id"] == container_id]
    return []


def _counts(socket: Socket, container_id: str) -> Counter:
    return Counter(kind for _, m in list(socket.messages) for kind in _mine(m, container_id))


def _seen(socket: Socket, container_id: str, *kinds: str) -> bool:
    counted = _counts(socket, container_id)
    return all(counted[kind] for kind in kinds)


def _container_story(docker_api, sockets: dict[str, Socket], redis_sockets: int, cluster):
    """Create, start, stop and remove a labelled container from the CLI's API, one step
    after the other once every socket saw the step; its messages counted per socket."""
    created = docker_api.create_container(
        eng.TEST_IMAGE, command=["sleep", "600"], name=eng.unique_name(), labels=eng.TEST_LABELS
    )
    cid = created["Id"]
    try:
        everyone = list(sockets.values())
        wait_for(
            lambda: all(_seen(s, cid, "list:added") for s in everyone),
            timeout=30,
            message="every socket to see the container added",
        )
        for opened in everyone:
            opened.send({"watch": [cid]})
        # The processes on Redis joined its group (the one-process portal did so first).
        wait_for(
            lambda: cluster.group_size(f"container.{ENGINE}.{cid}") >= redis_sockets,
            timeout=20,
            message="the sockets to watch the container",
        )
        for action, step in (("start", "start"), ("stop", "die"), ("remove", "removed")):
            if action == "start":
                docker_api.start(cid)
            elif action == "stop":
                docker_api.stop(cid, timeout=0)
            else:
                docker_api.remove_container(cid, force=True)
            wait_for(
                lambda e=step: all(_seen(s, cid, f"container:{e}") for s in everyone),
                timeout=30,
                message=f"every socket to see {step}",
            )
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(cid, force=True)
    # A marker container after it: what a second publisher sent of the first one came before
    # its own marker, so once every socket has the marker's end, nothing more is on its way.
    # Removed only once every socket has it: a model that sees it come and go in one batch
    # rightly publishes nothing of it at all.
    marker = docker_api.create_container(
        eng.TEST_IMAGE, command=["true"], name=eng.unique_name(), labels=eng.TEST_LABELS
    )["Id"]
    try:
        wait_for(
            lambda: all(_seen(s, marker, "list:added") for s in sockets.values()),
            timeout=30,
            message="every socket to see the marker added",
        )
    finally:
        docker_api.remove_container(marker, force=True)
    wait_for(
        lambda: all(_seen(s, marker, "list:removed") for s in sockets.values()),
        timeout=30,
        message="every socket to see the marker removed",
    )
    return {name: _counts(s, cid) for name, s in sockets.items()}


# The kinds every batching gives the same number of: the container's arrival, start, end and
# removal.
STORY_STEPS = (
    "list:added",
    "container:start",
    "container:die",
    "container:removed",
    "list:removed",
)


def _one_process_counts(counted: dict[str, Counter]) -> Counter:
    """The one-process portal's counts, checked to be a real story (not nothing)."""
    alone = counted.pop("one process")
    for kind in ("list:added", "container:start", "container:die", "container:removed"):
        assert alone[kind] >= 1, alone
    return alone


def test_the_channel_layer_waits_longer_than_its_blocking_read(cluster):
    """An idle receive on the layer as configured outlasts channels-redis's 5 s blocking wait
    (redis-py 8's own 5 s read timeout ended it with TimeoutError: every socket 1011)."""
    # A prefix of its own: the portals' groups and channels on this Redis are left alone.
    layer = RedisChannelLayer(**redis_layer(cluster.redis_url)["CONFIG"], prefix="idle-test")

    async def idle_receive():
        channel = await layer.new_channel()
        try:
            await asyncio.wait_for(layer.receive(channel), RedisChannelLayer.brpop_timeout + 3)
        finally:
            await layer.close_pools()

    with pytest.raises(TimeoutError) as waited:
        asyncio.run(idle_receive())
    assert type(waited.value) is TimeoutError  # asyncio's, not redis.exceptions.TimeoutError


def _same_as_one_process(cluster, portal, docker_api) -> dict[str, Counter]:
    """A container's story on fresh live sockets of A, B and through nginx, and on the
    one-process portal (the in-memory layer): each counts the same messages."""
    sockets = {
        "one process": Socket(portal.url, live_path(), portal.session().cookies["sessionid"]),
        "a": cluster.socket(cluster.a, live_path()),
        "b": cluster.socket(cluster.b, live_path()),
        "through nginx": cluster.socket(cluster.front, live_path()),
    }
    try:
        counted = _container_story(docker_api, sockets, 3, cluster)
    finally:
        sockets["one process"].close()
    alone = _one_process_counts(counted)
    first = next(iter(counted.values()))
    for name, got in counted.items():
        # One publisher for the cluster: each of its sockets got exactly the same messages.
        assert got == first, f"{name}: {got} != {first}"
        # Against the one-process portal's own model: the same story, each step once. How many
        # "changed" messages a stop makes, and which event name they carry ("stop",
        # "disconnect"), depends on how each model batched the engine's events: timing, not
        # duplication (which the equality above and these steps would show twice over).
        assert _steps(got) == _steps(alone), f"{name}: {got} != one process: {alone}"
    return counted


def _steps(counted: Counter) -> dict[str, int]:
    return {kind: counted[kind] for kind in STORY_STEPS}


def test_a_cli_container_makes_the_same_messages_on_each_process_as_on_one(
    cluster, portal, docker_api
):
    # Every socket of the cluster got what C published, once: as with one process.
    _same_as_one_process(cluster, portal, docker_api)


def _pull_image(docker_api, registry) -> str:
    """An image of 3 × 1 MB layers pushed to the test registry, no local copy left."""
    reference = f"{registry.address}/dwtest/multiproc:{eng.SESSION}"
    steps = "\n".join(
        f"RUN dd if=/dev/urandom of=/data/layer{i} bs=1024 count=1024 2>/dev/null" for i in range(3)
    )
    for event in docker_api.build(
        fileobj=io.BytesIO(f"FROM {eng.TEST_IMAGE}\n{steps}\n".encode()),
        tag=reference,
        labels=eng.TEST_LABELS,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        assert "error" not in event, event
    repository, tag = reference.rsplit(":", 1)
    for event in docker_api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in event, event
    docker_api.remove_image(reference, force=True)
    return f"dwtest/multiproc:{eng.SESSION}"


@pytest.fixture(scope="module")
def pulled(docker_api, test_image, registry):
    """pulled(address) → the image's reference through `address`; local copies removed."""
    path = _pull_image(docker_api, registry)
    references = []

    def through(address: str) -> str:
        references.append(f"{address}/{path}")
        return references[-1]

    yield through
    for reference in references:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_image(reference, force=True)


def _start_pull(portal: Portal, reference: str) -> str:
    http = portal.session()
    path = reverse("images:pull")
    response = http.post(
        f"{portal.url}{path}",
        data={"image": reference, "csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": f"{portal.url}{path}"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[-2000:]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def test_a_pull_started_through_nginx_is_watched_live_through_the_other_process(
    cluster, pulled, registry
):
    proxy = SlowProxy(registry.address, rate=200_000)  # a few seconds: progress to watch
    try:
        job_id = _start_pull(cluster.front, pulled(proxy.address))
        # Which process ran it? The job's runner names its pid; watch it on the other one.
        ran_on = _runner_pid(cluster, job_id)
        watcher = cluster.b if ran_on == cluster.pid("a") else cluster.a
        assert ran_on in (cluster.pid("a"), cluster.pid("b"))
        job_socket = cluster.socket(watcher, job_path(job_id))
        wait_for(lambda: job_socket.received(finished=True), timeout=120, message="the pull to end")
    finally:
        proxy.stop()
    live = [m for _, m in job_socket.messages if not m.get("snapshot")]
    assert any(m.get("progress") for m in live if not m.get("finished")), live[:3]
    assert job_socket.received(finished=True)[-1]["status"] == "succeeded", live[-1]


def _runner_pid(cluster, job_id: str) -> int:
    """The pid of the process running a job (its runner is host:pid:…)."""
    with psycopg.connect(cluster.database) as db:
        runner = db.execute(
            "SELECT runner FROM jobs_job WHERE id = %s", (uuid.UUID(job_id),)
        ).fetchone()[0]
    return int(runner.split(":")[1])


def test_a_process_killed_mid_pull_leaves_it_interrupted_and_another_publishes(
    cluster, pulled, registry, docker_api, portal
):
    proxy = SlowProxy(registry.address)
    proxy.pause()  # the pull waits on the registry until C is gone
    try:
        job_id = _start_pull(cluster.c, pulled(proxy.address))
        assert _runner_pid(cluster, job_id) == cluster.pid("c")
        watching = cluster.socket(cluster.a, job_path(job_id))
        wait_for(lambda: watching.received(snapshot=True), message="the job's snapshot")
        assert watching.received(snapshot=True)[0]["status"] == "running"
        resyncs = {name: len(s.received(type="resync")) for name, s in cluster.idle.items()}
        assert cluster.publisher_pid() == cluster.pid("c")  # C still publishes until killed
        os.kill(cluster.pid("c"), signal.SIGKILL)
        cluster.processes["c"][1].wait(10)
        # Seen live through A, within the minute the issue allows.
        wait_for(
            lambda: watching.received(status="interrupted", finished=True),
            timeout=60,
            interval=0.2,
            message="the job to be interrupted",
        )
    finally:
        proxy.stop()
    # A or B took over publishing, and told every page to fetch its lists again.
    wait_for(
        lambda: cluster.publisher_pid() in (cluster.pid("a"), cluster.pid("b")),
        timeout=30,
        message="another process to publish",
    )
    wait_for(
        lambda: all(
            len(s.received(type="resync")) > resyncs[name] for name, s in cluster.idle.items()
        ),
        timeout=30,
        message=f"a resync on every page (before: {resyncs})",
    )
    # ...and publishes once, as C did.
    _same_as_one_process(cluster, portal, docker_api)


def test_idle_live_sockets_on_each_process_stayed_open_a_minute(cluster):
    """Opened before the other tests; the minute is shared with them, not added."""
    wait_for(
        lambda: all(
            not s.open or time.monotonic() - s.opened_at >= IDLE_SECONDS
            for s in cluster.idle.values()
        ),
        timeout=IDLE_SECONDS + 10,
        interval=0.5,
        message="a minute since the idle sockets opened",
    )
    for name, opened in cluster.idle.items():
        assert opened.open, f"the socket on {name} closed with {opened.close_code}"
