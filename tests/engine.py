"""Test helpers for the real Docker engine: a tiny image, labelled resources, free ports.

Everything a test creates carries TEST_LABELS (unique per test session) and is removed
at the end of the session; nothing else on the engine is touched.
"""

import contextlib
import io
import os
import shutil
import socket
import tarfile
import time
import uuid

import docker

SESSION = uuid.uuid4().hex[:10]
# Outside the portal's own `dockerweb.` label namespace, which users (and tests) may not set.
LABEL_KEY = "test.dockerweb.session"
TEST_LABELS = {LABEL_KEY: SESSION}
# Per session, so two test runs on one engine never remove each other's image.
TEST_IMAGE = f"dockerweb-test/busybox:{SESSION}"
BUSYBOX_APPLETS = (
    "sh",
    "echo",
    "sleep",
    "cat",
    "seq",
    "yes",
    "head",
    "tail",
    "printf",
    "ls",
    "true",
    "false",
    "env",
    "httpd",
    "nc",
    "wc",
    "date",
    "mkdir",
    "rm",
    "touch",
    "id",
    "ps",
    "kill",
    "hostname",
    "nslookup",
    "ping",
    "wget",
    "grep",
    "sed",
    "awk",
    "tr",
    "dd",
    "test",
    "[",
)


def api() -> docker.APIClient:
    return docker.APIClient(
        base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), version="auto"
    )


def _busybox_path() -> str:
    for candidate in ("/usr/bin/busybox", "/bin/busybox"):
        if os.path.exists(candidate):
            return candidate
    found = shutil.which("busybox")
    if not found:
        raise RuntimeError(
            "busybox-static is needed for the test image (apt-get install busybox-static)"
        )
    return found


def build_test_image(client: docker.APIClient) -> str:
    return build_busybox_image(client, TEST_IMAGE, TEST_LABELS)


def build_busybox_image(client: docker.APIClient, reference: str, labels: dict[str, str]) -> str:
    """A ~2 MB image from busybox-static: no registry or internet needed (tests and bench)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(_busybox_path(), arcname="bin/busybox")
        for applet in BUSYBOX_APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for folder in ("tmp", "www", "data", "etc"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
    repository, tag = reference.split(":")
    label_lines = [f"LABEL {key}={value}" for key, value in labels.items()]
    client.import_image_from_data(
        buffer.getvalue(),
        repository=repository,
        tag=tag,
        changes=[*label_lines, 'CMD ["sh"]', "ENV PATH=/bin"],
    )
    return reference


def wait_for(
    condition, *, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"
):
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_name(prefix: str = "dwt") -> str:
    return f"{prefix}-{SESSION}-{uuid.uuid4().hex[:6]}"


def remove_test_resources(client: docker.APIClient) -> None:
    """Remove every container, volume, network and image this session created."""
    label_filter = {"label": [f"{LABEL_KEY}={SESSION}"]}
    for item in client.containers(all=True, filters=label_filter):
        try:
            client.remove_container(item["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass
    for volume in client.volumes(filters=label_filter).get("Volumes") or []:
        try:
            client.remove_volume(volume["Name"], force=True)
        except docker.errors.APIError:
            pass
    for network in client.networks(filters=label_filter):
        try:
            client.remove_network(network["Id"])
        except docker.errors.APIError:
            pass
    # Then the images: whatever this session built, pulled or left untagged carries its label
    # (inherited from the test image), whichever tag it ended with, or none. Newest first, so
    # an image goes before the one it was built from; a second pass takes what that unblocked.
    for _ in range(2):
        for image in client.images(filters=label_filter):
            with contextlib.suppress(docker.errors.APIError):
                client.remove_image(image["Id"], force=True)


def _settle(condition, what: str) -> None:
    """Wait until this process's live model shows what the test just did through the engine
    directly (the portal learns it from the engine's events, a few ms later; a busy shared
    engine delays them). Nothing to wait for when the model isn't running: its first
    listing will see it."""
    from dockerweb import engines

    engine = engines.current()
    if engine.sync.status != "up":
        return
    wait_for(lambda: condition(engine.model), timeout=30, message=f"the live model to see {what}")


def settle_model(
    container_id: str, *, state: str | None = None, gone: bool = False, started: bool = False
) -> None:
    """`_settle` for a container: there, gone, started, or in `state`."""

    def settled(model):
        summary = model.container(container_id)
        if gone:
            return summary is None
        if started:  # running, or already done: a short-lived one may never be seen running
            return summary is not None and summary.state != "created"
        return summary is not None and (state is None or summary.state == state)

    _settle(settled, f"container {container_id[:12]}")


def settle_volume(name: str) -> None:
    """`_settle` for a volume the test just created."""
    _settle(lambda model: model.volume(name) is not None, f"volume {name}")


def settle_image(image_id: str, *, gone: bool = False, tags: tuple[str, ...] | None = None) -> None:
    """`_settle` for an image the test just built, tagged or removed (with `tags`: until the
    model's image has exactly those)."""

    def settled(model):
        summary = model.image(image_id)
        if gone:
            return summary is None
        return summary is not None and (tags is None or sorted(summary.tags) == sorted(tags))

    _settle(settled, f"image {image_id[7:19]}")
