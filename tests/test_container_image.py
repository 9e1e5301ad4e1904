"""The portal as a container image (Dockerfile), built and run for real on the test engine.

Slow (apt, PyPI and npm downloads: minutes), so `make test` leaves it out and `make test-slow`
runs it. No base image can be pulled here, so the base is a Debian bookworm root filesystem
made with debootstrap (cached under var/test-cache, so a second run skips it), imported as a
labelled image and given to the build as BASE. The build trusts the CAs this machine adds to
its own trust store (/usr/local/share/ca-certificates: a TLS-inspecting egress proxy here;
none on an ordinary machine), passed as EXTRA_CA_CERT, which stays out of the final image.

Everything made (base image, every build stage and layer image, the container and its data
volume) carries this build's label and is removed at the end, whatever happened.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import docker
import pytest
import requests

from tests import engine as eng
from tests.conftest import BASE_DIR
from tests.engine import wait_for

pytestmark = pytest.mark.slow

SOCKET = "/var/run/docker.sock"
ROOTFS_CACHE = BASE_DIR / "var" / "test-cache" / "debian-bookworm-minbase.tar.gz"
DEBIAN_MIRROR = os.environ.get("DOCKERWEB_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
PORTAL_UID = "10001"
ADMIN_PASSWORD = "image-test-admin-pw-1"
BUILD_LABEL = "test.dockerweb.image-build"
# The Dockerfile's stages in order, then the image itself (None).
STAGES = ("runtime-base", "assets", "app", None)
# The same bookworm PATH the debian images set (an imported root filesystem has none).
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Imports every module of every project package inside the image: the runtime part of
# requirements.txt (all the image installs) must be enough for all of them.
IMPORT_EVERYTHING = """
import importlib, pathlib, pkgutil
import django
django.setup()
count = 0
for init in sorted(pathlib.Path("/app").glob("*/__init__.py")):
    package = importlib.import_module(init.parent.name)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
        count += 1
print(count)
"""


def run(*command: str, timeout: float = 120, **kwargs) -> str:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)[:300]} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return done.stdout


def debian_rootfs() -> Path:
    """A gzipped tar of a minimal Debian bookworm (debootstrap), made once and kept."""
    if ROOTFS_CACHE.exists():
        return ROOTFS_CACHE
    assert shutil.which("debootstrap"), "debootstrap is missing: scripts/ensure-test-tools.sh"
    assert os.geteuid() == 0, "debootstrap needs root (chroot, device nodes)"
    ROOTFS_CACHE.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOTFS_CACHE.parent) as scratch:
        root = Path(scratch) / "root"
        run("debootstrap", "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR, timeout=900)
        # What a slim image leaves out too: package lists and downloaded packages.
        for leftovers in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for item in (root / leftovers).glob("*"):
                if item.is_file():
                    item.unlink()
        partial = Path(scratch) / "rootfs.tar.gz"
        run("tar", "-C", str(root), "--numeric-owner", "-czf", str(partial), ".", timeout=300)
        partial.replace(ROOTFS_CACHE)  # whole or not at all, for the next run
    return ROOTFS_CACHE


def extra_ca_text() -> str:
    """The CAs this machine adds to its own trust store, as one PEM text ("" when none)."""
    if not LOCAL_CAS.is_dir():
        return ""
    return "".join(path.read_text() for path in sorted(LOCAL_CAS.glob("**/*.crt")))


def build_stage(image: str, target: str | None, base: str, labels: dict[str, str]) -> None:
    """`docker build` up to `target` (None: the whole Dockerfile), tagged: a stage's result
    left untagged is a dangling image, and other tests on this shared engine prune those
    (the portal's own prune does), which removed one mid-build ("No such image"). Tagged
    stages are cache hits for the next target; a prune between two steps still can't be
    ruled out, so a build that lost an image is tried again (quick: the cache holds)."""
    tag = f"{image}-{target}" if target else image
    proxies = [f"--build-arg={name}" for name in PROXY_VARIABLES if name in os.environ]
    command = [
        "docker",
        "build",
        "--force-rm",
        *(f"--label={key}={value}" for key, value in labels.items()),
        f"--build-arg=BASE={base}",
        f"--build-arg=EXTRA_CA_CERT={extra_ca_text()}",
        *proxies,
        *(["--target", target] if target else []),
        "--tag",
        tag,
        str(BASE_DIR),
    ]
    for attempt in range(3):
        try:
            # The classic builder: its cache is the labelled images, so nothing stays behind.
            run(*command, timeout=1500, env={**os.environ, "DOCKER_BUILDKIT": "0"})
            return
        except AssertionError as exc:
            if "No such image" not in str(exc) or attempt == 2:
                raise


def labelled_images(client: docker.APIClient, build: str) -> list[dict]:
    return client.images(all=True, filters={"label": [f"{BUILD_LABEL}={build}"]})


def remove_build(client: docker.APIClient, build: str) -> None:
    """Every container and image of this build: the portal, each stage's images, the base."""
    for container in client.containers(all=True, filters={"label": [f"{BUILD_LABEL}={build}"]}):
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_container(container["Id"], force=True, v=True)
    # An image with children can't go before them: newest first, again while some go.
    for _ in range(100):
        images = sorted(labelled_images(client, build), key=lambda image: -image["Created"])
        if not images:
            return
        removed = 0
        for image in images:
            with contextlib.suppress(docker.errors.APIError):
                client.remove_image(image["Id"], force=True)
                removed += 1
        if not removed:
            break
    left = [image["Id"] for image in labelled_images(client, build)]
    assert not left, f"images of the test build left behind: {left}"


@pytest.fixture(scope="module")
def built_image(docker_api):
    if os.environ.get("DOCKER_HOST", f"unix://{SOCKET}") != f"unix://{SOCKET}":
        pytest.skip("the image test mounts the engine's local socket into the portal")
    build = uuid.uuid4().hex[:10]
    labels = {**eng.TEST_LABELS, BUILD_LABEL: build}
    base = f"dockerweb-test/debian:{eng.SESSION}-{build}"
    image = f"dockerweb-test/portal:{eng.SESSION}-{build}"
    try:
        # Every stage starts FROM the base, so each stage's images inherit its labels too.
        changes = [f"--change=LABEL {key}={value}" for key, value in labels.items()]
        changes += [f"--change=ENV PATH={DEBIAN_PATH}", '--change=CMD ["bash"]']
        run("docker", "import", *changes, str(debian_rootfs()), base, timeout=300)
        for target in STAGES:
            build_stage(image, target, base, labels)
        yield image, labels
    finally:
        remove_build(docker_api, build)


@pytest.fixture(scope="module")
def running_portal(docker_api, built_image):
    image, labels = built_image
    port = eng.free_port()
    name = eng.unique_name("dwt-image")
    container = docker_api.create_container(
        image,
        name=name,
        labels=labels,
        environment={"DOCKERWEB_ADMIN_PASSWORD": ADMIN_PASSWORD},
        ports=[8000],
        host_config=docker_api.create_host_config(
            port_bindings={8000: ("127.0.0.1", port)},
            binds={SOCKET: {"bind": SOCKET, "mode": "rw"}},
            # The socket is root's and its group's: the portal's user needs that group.
            group_add=[str(os.stat(SOCKET).st_gid)],
        ),
        # The image's own check, only asked more often than its 30 s so the test is quick.
        healthcheck={"interval": 1_000_000_000, "start_period": 120_000_000_000},
    )
    docker_api.start(container["Id"])

    def health():
        state = docker_api.inspect_container(container["Id"])["State"]
        if not state["Running"]:
            logs = docker_api.logs(container["Id"]).decode(errors="replace")
            raise AssertionError(f"the portal's container stopped: {state}\n{logs[-3000:]}")
        return state.get("Health", {}).get("Status") == "healthy"

    wait_for(health, timeout=120, interval=0.5, message="the portal's container to be healthy")
    return container["Id"], name, f"http://127.0.0.1:{port}"


def exec_in(client: docker.APIClient, container_id: str, *command: str) -> tuple[int, str]:
    execution = client.exec_create(container_id, list(command))
    output = client.exec_start(execution["Id"]).decode(errors="replace")
    return client.exec_inspect(execution["Id"])["ExitCode"], output


def test_the_image_runs_the_portal_as_a_non_root_user_on_the_mounted_engine(
    docker_api, built_image, running_portal
):
    image, _ = built_image
    container_id, name, url = running_portal

    config = docker_api.inspect_image(image)["Config"]
    assert config["User"] == "dockerweb"
    assert "8000/tcp" in config["ExposedPorts"]
    assert "/data" in config["Volumes"]
    assert "/app/container-image/healthcheck.py" in config["Healthcheck"]["Test"]

    # Non-root: every process of the container, and what `exec` gets.
    top = docker_api.top(container_id, ps_args="-eo pid,uid,args")
    uid_column = top["Titles"].index("UID")
    assert top["Processes"], top
    assert {process[uid_column] for process in top["Processes"]} == {PORTAL_UID}, top
    assert any("daphne" in " ".join(process) for process in top["Processes"]), top
    assert exec_in(docker_api, container_id, "id", "-u") == (0, f"{PORTAL_UID}\n")
    # The user owns its data folder and nothing of the code.
    code, owners = exec_in(docker_api, container_id, "stat", "-c", "%u %a %n", "/data", "/app")
    assert code == 0 and owners.splitlines() == [f"{PORTAL_UID} 700 /data", "0 755 /app"], owners
    assert exec_in(docker_api, container_id, "test", "-w", "/app/dockerweb")[0] != 0

    # Only what the pages serve: no test-only npm package, no test tools, no build leftovers.
    absent = ("/app/node_modules/axe-core", "/tmp/build-data", "/app/tests", "/app/var")  # noqa: S108 - paths inside the image
    for path in absent:
        assert exec_in(docker_api, container_id, "test", "-e", path)[0] != 0, path
    assert exec_in(docker_api, container_id, "python", "-c", "import pytest")[0] != 0
    code, imported = exec_in(docker_api, container_id, "python", "-c", IMPORT_EVERYTHING)
    assert code == 0 and int(imported.split()[-1]) > 50, imported

    # Over HTTP: the health answer, collected static files, the vendor packages, a log-in.
    health = requests.get(f"{url}/healthz", timeout=10)
    assert (health.status_code, health.text) == (200, "ok")
    assert requests.get(f"{url}/static/js/live.js", timeout=10).status_code == 200
    xterm = requests.get(f"{url}/static/vendor/xterm/lib/xterm.js", timeout=10)
    assert xterm.status_code == 200 and len(xterm.content) > 10_000
    http = requests.Session()
    assert http.get(f"{url}/login/", timeout=10).status_code == 200
    landing = http.post(
        f"{url}/login/",
        data={
            "username": "admin",
            "password": ADMIN_PASSWORD,
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        headers={"Referer": f"{url}/login/"},
        timeout=30,
    )
    assert landing.status_code == 200 and "/login/" not in landing.url, landing.url
    # The engine, reached through the mounted socket by the non-root user: the container
    # list finds the portal's own container.
    found = http.get(landing.url, params={"q": name}, timeout=30)
    assert found.status_code == 200 and name in found.text, found.text[-2000:]
