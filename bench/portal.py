"""What every benchmark needs: the engine, a labelled image, a real portal, a browser, figures.

Everything a benchmark creates carries BENCH_LABELS (`bench.dockerweb.run=<run id>`) and is
removed by `cleanup()`, which the benchmarks call from `finally` (Ctrl-C included).
Nothing else on the engine is touched.
"""

import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import requests

from tests.engine import build_busybox_image, free_port, wait_for

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:10]
LABEL_KEY = "bench.dockerweb.run"  # outside the portal's `dockerweb.` label namespace
BENCH_LABELS = {LABEL_KEY: RUN_ID}
# Per run, so removing it can't pull the image from under a concurrent run (or the tests').
BENCH_IMAGE = f"dockerweb-bench/busybox:{RUN_ID}"
ADMIN_PASSWORD = "admin-bench-password-1"  # noqa: S105 - throwaway portal's admin
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


# -- engine ---------------------------------------------------------------------------------


def engine_api() -> docker.APIClient:
    return docker.APIClient(
        base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
        version="auto",
        timeout=120,
    )


def build_image(api: docker.APIClient) -> str:
    """The busybox-static image the tests use too, under this run's name and label."""
    return build_busybox_image(api, BENCH_IMAGE, BENCH_LABELS)


def create_container(api: docker.APIClient, command: list[str], name: str, **kwargs) -> str:
    created = api.create_container(
        BENCH_IMAGE, command=command, name=f"dwb-{RUN_ID}-{name}", labels=BENCH_LABELS, **kwargs
    )
    return created["Id"]


def cleanup(api: docker.APIClient) -> None:
    """Remove every container of this run, then its image. Several at a time: the benches
    that make 1,000 containers would wait ≈ 35 s for them one by one."""
    ours = api.containers(all=True, quiet=True, filters={"label": [f"{LABEL_KEY}={RUN_ID}"]})

    def remove(item: dict) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_container(item["Id"], force=True, v=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove, ours))
    with contextlib.suppress(docker.errors.APIError):
        api.remove_image(BENCH_IMAGE, force=True)


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM → SystemExit, so `finally` blocks (cleanup) run as they do on Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# -- the portal -----------------------------------------------------------------------------


@dataclass
class Portal:
    url: str
    data_dir: Path
    env: dict = field(repr=False)
    pid: int = 0  # Daphne's, for a profiler to attach to

    def session(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
        """A requests session logged in through the real login form (as admin by default)."""
        http = requests.Session()
        http.get(f"{self.url}/login/", timeout=10).raise_for_status()
        response = http.post(
            f"{self.url}/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": http.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.url}/login/"},
            timeout=10,
            # Not on to the page it redirects to: logging in costs no page a bench times.
            allow_redirects=False,
        )
        response.raise_for_status()
        if "sessionid" not in http.cookies:
            raise RuntimeError("could not log in to the portal")
        return http

    def create_user(self, username: str, password: str, permissions: tuple[str, ...]) -> None:
        """A non-admin user with the given `app.codename` permissions."""
        code = (
            "from django.contrib.auth.models import User, Permission\n"
            f"u = User.objects.create_user({username!r}, password={password!r})\n"
            f"for p in {list(permissions)!r}:\n"
            "    app, codename = p.split('.')\n"
            "    u.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))\n"
        )
        _manage(self.env, "shell", "-c", code)


def _manage(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )


@contextlib.contextmanager
def running_portal(extra_env: dict | None = None) -> Iterator[Portal]:
    """Daphne serving the portal on a free port, with its own data dir; gone afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="dockerweb-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dockerweb.settings",
        "DOCKERWEB_DATA_DIR": str(data_dir),
        "DOCKERWEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DOCKERWEB_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = None
    try:
        _manage(env, "migrate", "--noinput")
        _manage(env, "ensure_admin")
        port = free_port()
        portal = Portal(url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env)
        log = open(data_dir / "daphne.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            + ["dockerweb.asgi:application"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: _answering(portal, process), timeout=30, message="daphne to serve")
        portal.pid = process.pid
        yield portal
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def _answering(portal: Portal, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        log = (portal.data_dir / "daphne.log").read_text(errors="replace")
        raise RuntimeError(f"daphne exited: {log[-2000:]}")
    try:
        return requests.get(f"{portal.url}/login/", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def browser_page(portal: Portal):
    """A headless Chromium page logged in to the portal as admin."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"no Chromium at {CHROMIUM} (scripts/ensure-test-tools.sh installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{portal.url}/login/")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(lambda url: "/login/" not in url)
            yield page
        finally:
            browser.close()


# -- a process's figures --------------------------------------------------------------------


def threads_and_rss(pid: int) -> tuple[int, int]:
    """(threads, resident memory in bytes) of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) * 1024


def mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


# -- waiting and figures --------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


@dataclass
class Result:
    """What a benchmark reports: its headline figure, the raw one beside it, and the goal."""

    name: str
    figure: str
    raw: str
    ratio: float | None
    goal: str
    met: bool | None  # None: a figure with no goal
    notes: list[str] = field(default_factory=list)

    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "met" if self.met else "MISSED"
