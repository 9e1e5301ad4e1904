"""Shared fixtures: the real engine, the test image, a real portal served by Daphne, Chromium."""

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
import requests

from dockerweb.gateway.portal_helpers import is_portal_helper
from tests import engine as eng
from tests.engine import wait_for

BASE_DIR = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "admin-test-password-1"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


# Markers are given here, from what a test uses, so `make test-fast` (`-m "not engine and not
# browser"`) can't run a test that needs the engine just because its author forgot a marker.
# A fixture counts with everything it depends on: `item.fixturenames` is the whole closure.
ENGINE_FIXTURES = frozenset(
    {
        "docker_api",  # every engine fixture (test_image, make_container, portal...) needs it
        "registry",
        "private_registry",
        "live_server",
        "tls_dockerd",
        "swarm_dockerd",
        "ssh_server",
    }
)
BROWSER_FIXTURES = frozenset({"page", "context", "browser", "admin_page"})
# Tests that reach the engine without one of those fixtures: a page rendered through the
# test client (the sidebar lists containers), a view or gateway call, or the real portal
# started with `start_portal`. A module name covers all its tests; `module::test` one test
# (all its parameters). Found by running the rest against a socket that records every call.
ENGINE_TESTS = frozenset(
    {
        "test_login_throttle",
        "test_build_pull_reach::test_an_operator_cannot_build_from_a_base_image_the_engine_would_pull",
        "test_build_pull_reach::test_an_operator_cannot_pull_from_the_hosts_own_addresses",
        "test_build_pull_reach::test_the_run_form_cannot_pull_from_the_hosts_own_addresses_either",
        "test_csp::test_errors_posts_and_static_files_carry_the_policy_too",
        "test_csp::test_no_page_allows_inline_styles_the_admin_included",
        "test_dashboard::test_the_build_cache_prune_asks_first_and_prunes_only_the_confirmed_records",
        "test_data_files::test_a_fresh_start_creates_the_data_private",
        "test_run_cards::test_the_real_engines_hub_search_gives_cards_or_the_one_line",
        "test_data_files::test_an_older_world_readable_data_dir_is_tightened_on_start",
        "test_gateway_containers::test_unknown_container_raises_not_found",
        "test_host_access::test_a_volume_driver_off_the_allow_list_is_refused_before_the_engine_is_asked",
        "test_host_access::test_the_create_volume_form_offers_the_engines_volume_drivers",
        "test_images_browse::test_image_detail_by_id_of_an_unknown_image_is_404",
        "test_images_browse::test_the_image_list_offers_the_hub_search_box",
        "test_images_build::test_build_page_offers_dockerfile_text_or_an_uploaded_context",
        "test_engines_pages::test_the_health_fragment_says_down_for_an_engine_nobody_listens_on",
        "test_images_build::test_context_without_the_dockerfile_is_refused",
        "test_images_build::test_corrupt_archive_is_refused",
        "test_live_state::test_nothing_changed_since_render_means_no_resync",
        "test_volumes::test_remove_of_a_missing_volume_is_404",
    }
)


# Tests that act on the whole engine, whoever made what they take: a volume prune removes
# every unused volume (named ones too on API 1.41), an image prune every dangling image. With
# several workers (`make test`: pytest-xdist) they run alone, no other test running beside
# them (tests/xdist_scheduling.py): a browser one (in a test_browser_* file) at the end, the
# others at the start. `module::test` covers all its parameters; `module::test[id]` one.
ENGINE_WIDE_TESTS = frozenset(
    {
        "test_audit_trail::test_each_change_leaves_exactly_one_entry_naming_the_real_object"
        "[images:prune-prune]",
        "test_audit_trail::test_each_change_leaves_exactly_one_entry_naming_the_real_object"
        "[volumes:prune-prune]",
        "test_volumes::test_prune_shows_the_unused_volume_then_reports_reclaimed_space",
        "test_browser_volumes::"
        "test_data_volume_filled_by_a_container_is_browsed_guarded_and_pruned_in_the_browser",
    }
)


_PORTAL_LOG = pytest.StashKey[tuple]()


def _listed(item) -> bool:
    module = item.module.__name__.rpartition(".")[2]
    return module in ENGINE_TESTS or f"{module}::{item.originalname}" in ENGINE_TESTS


def engine_wide(nodeid: str) -> bool:
    """Whether the test of this node id is in ENGINE_WIDE_TESTS (the xdist controller knows
    tests by node id only)."""
    path, _, name = nodeid.partition("::")
    module = Path(path).stem
    return (
        f"{module}::{name}" in ENGINE_WIDE_TESTS
        or f"{module}::{name.partition('[')[0]}" in ENGINE_WIDE_TESTS
    )


def runs_last(nodeid: str) -> bool:
    """An engine-wide test in a test_browser_* file runs alone after everything else (after
    the other browser tests); the others alone before everything else."""
    return Path(nodeid.partition("::")[0]).name.startswith("test_browser_")


@pytest.hookimpl(optionalhook=True)  # the hook exists only with pytest-xdist installed
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` keeps the order above in each worker and runs ENGINE_WIDE_TESTS alone
    (tests/xdist_scheduling.py); xdist's other modes are its own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_scheduling import SuiteScheduling

    return SuiteScheduling(config, log, engine_wide=engine_wide, runs_last=runs_last)


# A failing test that used the portal shows what the portal logged meanwhile (its warnings
# and tracebacks): CI keeps the report only, not the portal's data folder.
PORTAL_LOG_SHOWN = 6000  # characters, the end of what the test's run wrote


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    portal = item.funcargs.get("portal") if hasattr(item, "funcargs") else None
    log = portal.data_dir / "daphne.log" if isinstance(portal, Portal) else None
    item.stash[_PORTAL_LOG] = (log, log.stat().st_size if log and log.exists() else 0)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    log, start = item.stash.get(_PORTAL_LOG, (None, 0))
    if report.when != "call" or not report.failed or log is None or not log.exists():
        return
    with log.open("rb") as written:
        written.seek(start)
        text = written.read().decode(errors="replace")
    report.sections.append(("portal log during the test", text[-PORTAL_LOG_SHOWN:] or "(nothing)"))


def _mark_by_needs(item) -> None:
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & BROWSER_FIXTURES and item.get_closest_marker("browser") is None:
        item.add_marker(pytest.mark.browser)
    needs_engine = (
        fixtures & ENGINE_FIXTURES
        or item.get_closest_marker("browser") is not None  # every browser test opens a portal
        or _listed(item)
    )
    if needs_engine and item.get_closest_marker("engine") is None:
        item.add_marker(pytest.mark.engine)


def pytest_collection_modifyitems(items):
    for item in items:
        _mark_by_needs(item)
    # pytest-playwright leaves an event loop running, which breaks async tests after it:
    # browser tests go last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    for item in items:
        browser = item.get_closest_marker("browser") is not None
        if engine_wide(item.nodeid) and browser != runs_last(item.nodeid):
            raise pytest.UsageError(
                f"{item.nodeid}: an engine-wide test runs alone last if and only if it is a "
                "browser test, which must then live in a test_browser_* file"
            )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """A file-based SQLite test database: job threads write with their own connections, and
    the in-memory database answers them "table is locked" instead of waiting."""
    from django.conf import settings

    default = settings.DATABASES["default"]
    if default["ENGINE"].endswith("sqlite3"):
        default.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def docker_api():
    """A docker-py client for arranging and checking engine state in tests."""
    client = eng.api()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - say clearly what is missing
        pytest.exit(
            f"No Docker engine at DOCKER_HOST ({exc}). `make test` starts one.", returncode=3
        )
    yield client
    eng.remove_test_resources(client)
    try:
        client.remove_image(eng.TEST_IMAGE, force=True)
    except Exception:  # noqa: BLE001, S110 - already gone
        pass


@pytest.fixture(scope="session")
def test_image(docker_api):
    return eng.build_test_image(docker_api)


@pytest.fixture(scope="session")
def tls_dockerd(test_image):
    """A second engine of this session's own, reachable over TCP with --tlsverify
    (tests/extra_dockerd.py): `.tcp_address`, `.tls` (CA, client cert and key), `.client()`."""
    from tests.extra_dockerd import ExtraDockerd

    engine = ExtraDockerd(tls=True, name="dwt").start()
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def swarm_dockerd(test_image):
    """A second engine of this session's own that is a single-node swarm manager (never the
    shared main engine): `.unix_address`, `.client()`."""
    from tests.extra_dockerd import ExtraDockerd

    engine = ExtraDockerd(swarm=True, name="dws").start()
    yield engine
    engine.stop()


@pytest.fixture
def swarm_engine(settings, swarm_dockerd):
    """Two engines declared, as configuration management would: the main one and the swarm
    manager ("swarm", at /engines/swarm/…); the manager's docker-py client. Services made here
    are removed after the test."""
    from dockerweb.env import DeclaredEngine

    settings.DOCKERWEB_ENGINES = [
        DeclaredEngine("local", settings.DOCKER_HOST, None),
        DeclaredEngine("swarm", swarm_dockerd.unix_address, None),
    ]
    client = swarm_dockerd.client()
    yield client
    for service in client.services(filters={"label": f"{eng.LABEL_KEY}={eng.SESSION}"}):
        client.remove_service(service["ID"])


@pytest.fixture(scope="session")
def ssh_server(docker_api):
    """An sshd of this session's own on 127.0.0.1 (tests/ssh_server.py) whose logins reach
    the main engine with `docker system dial-stdio`: `.address`, `.client_key`, `.host_key`."""
    from tests.ssh_server import SshServer

    server = SshServer(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")).start()
    yield server
    server.stop()


@pytest.fixture
def make_container(docker_api, test_image):
    """make_container(command=..., name=..., **create kwargs) → inspect dict; removed after the test."""
    created = []

    def make(
        command=("sleep", "3600"), *, start=True, name=None, labels=None, host_config=None, **kwargs
    ):
        container = docker_api.create_container(
            test_image,
            command=list(command) if command else None,
            name=(container_name := name or eng.unique_name()),
            labels={**eng.TEST_LABELS, **(labels or {})},
            host_config=docker_api.create_host_config(**(host_config or {})),
            **kwargs,
        )
        created.append(container["Id"])
        if start:
            docker_api.start(container["Id"])
        if not is_portal_helper(labels, container_name):  # the model never shows those
            eng.settle_model(container["Id"], started=start)
        return docker_api.inspect_container(container["Id"])

    yield make
    for container_id in created:
        try:
            docker_api.remove_container(container_id, force=True, v=True)
        except Exception:  # noqa: BLE001, S110 - the test removed it itself
            pass


@dataclass
class Portal:
    """The real portal (Daphne, HTTP + websockets) in a subprocess with its own data dir."""

    url: str
    data_dir: Path
    env: dict = field(repr=False)
    admin_password: str = ADMIN_PASSWORD

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    def create_user(self, username: str, password: str, permissions: tuple[str, ...] = ()) -> None:
        """A non-admin user with the given `app.codename` permissions."""
        code = (
            "from django.contrib.auth.models import User, Permission\n"
            f"u, _ = User.objects.get_or_create(username={username!r})\n"
            f"u.set_password({password!r}); u.save()\n"
            f"for p in {list(permissions)!r}:\n"
            "    app, codename = p.split('.')\n"
            "    u.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))\n"
        )
        self.manage("shell", "-c", code)

    def session(self, username: str = "admin", password: str | None = None) -> requests.Session:
        """A requests session logged in through the real login form."""
        http = requests.Session()
        page = http.get(f"{self.url}/login/", timeout=10)
        page.raise_for_status()
        response = http.post(
            f"{self.url}/login/",
            data={
                "username": username,
                "password": password or self.admin_password,
                "csrfmiddlewaretoken": http.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.url}/login/"},
            timeout=10,
        )
        response.raise_for_status()
        assert "sessionid" in http.cookies, "login failed"
        return http


def _portal_env(data_dir: Path, extra_env: dict | None) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DOCKERWEB_DATA_DIR": str(data_dir),
        "DOCKERWEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **(extra_env or {}),
    }


SQLITE_FILES = ("dockerweb.sqlite3", "dockerweb.sqlite3-wal")
_migrated: Path | None = None


def _migrated_sqlite() -> Path:
    """A data dir whose SQLite database is migrated and holds the admin, made once per test
    process. `migrate` and `ensure_admin` are two Django start-ups, seconds each on a busy
    machine, and the same for every portal; a new portal gets a copy of the result."""
    global _migrated
    if _migrated is None:
        made = Path(tempfile.mkdtemp(prefix="dockerweb-migrated-"))
        atexit.register(shutil.rmtree, made, True)
        template = Portal(url="", data_dir=made / "data", env=_portal_env(made / "data", None))
        template.manage("migrate", "--noinput")
        template.manage("ensure_admin")
        _migrated = template.data_dir
    return _migrated


def _set_up_database(portal: Portal, extra_env: dict | None, from_scratch: bool) -> None:
    sqlite = portal.data_dir / SQLITE_FILES[0]
    if from_scratch or "DATABASE_URL" in (extra_env or {}) or sqlite.exists():
        portal.manage("migrate", "--noinput")
        portal.manage("ensure_admin")
        return
    portal.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    template = _migrated_sqlite()
    for name in SQLITE_FILES:
        if (template / name).exists():
            shutil.copyfile(template / name, portal.data_dir / name)
            os.chmod(portal.data_dir / name, 0o600)


def start_portal(
    data_dir: Path,
    extra_env: dict | None = None,
    *,
    migrate: bool = True,
    from_scratch: bool = False,
) -> tuple[Portal, subprocess.Popen]:
    """Daphne serving the portal on a free port.

    Its SQLite database is a copy of one migrated once (`_migrated_sqlite`); `from_scratch`
    runs `migrate` and `ensure_admin` in its data dir as `make run` does, as do PostgreSQL
    (`DATABASE_URL`) and a data dir that already has a database. `migrate=False`: the
    database is already set up (a second process on a shared PostgreSQL database,
    tests/test_multiprocess.py)."""
    env = _portal_env(data_dir, extra_env)
    portal = Portal(url="", data_dir=data_dir, env=env)
    if migrate:
        _set_up_database(portal, extra_env, from_scratch)
    port = eng.free_port()
    portal.url = f"http://127.0.0.1:{port}"
    log = open(data_dir / "daphne.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "dockerweb.asgi:application",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def answering():
        if process.poll() is not None:
            raise AssertionError(f"daphne exited: {(data_dir / 'daphne.log').read_text()[-2000:]}")
        try:
            return requests.get(f"{portal.url}/login/", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answering, timeout=30, message="daphne to serve")
    return portal, process


def stop_portal(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def portal(docker_api, test_image, tmp_path_factory):
    started, process = start_portal(tmp_path_factory.mktemp("portal"))
    yield started
    stop_portal(process)


# -- Chromium (pytest-playwright) ---------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


def login(page, portal: Portal, username: str = "admin", password: str | None = None) -> None:
    page.goto(f"{portal.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or portal.admin_password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.fixture
def admin_page(page, portal):
    """A Chromium page logged in as admin."""
    page.set_default_timeout(10_000)
    login(page, portal)
    return page


# -- local registries (Debian's docker-registry) ------------------------------------------

REGISTRY_USER = "dwtest-user"
REGISTRY_PASSWORD = "registry-secret-Zq7xK2"  # noqa: S105 - the test registry's login


@pytest.fixture(scope="session")
def registry():
    """An open local registry at 127.0.0.1:<free port> (.address, .tags(repository))."""
    from tests.registry import start_registry

    started = start_registry()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def private_registry():
    """A local registry that needs the REGISTRY_USER / REGISTRY_PASSWORD login (htpasswd)."""
    from tests.registry import start_registry

    started = start_registry({REGISTRY_USER: REGISTRY_PASSWORD})
    yield started
    started.stop()


def remove_image_and_its_containers(docker_api, image_id: str) -> None:
    users = docker_api.containers(
        all=True, filters={"label": [f"{eng.LABEL_KEY}={eng.SESSION}"], "ancestor": image_id}
    )
    for container in users:
        try:
            docker_api.remove_container(container["Id"], force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            # A build's intermediate container that the engine is removing itself (a test
            # that failed while its build ran).
            if "already in progress" not in str(exc):
                raise
    with contextlib.suppress(docker.errors.NotFound):
        docker_api.remove_image(image_id, force=True)


@pytest.fixture
def make_image(docker_api):
    """make_image(reference=None) → (reference, image id); every image made is removed after."""
    made = []

    def make(reference=None):
        reference = reference or f"{eng.unique_name('dwt-img')}:1"
        eng.build_busybox_image(docker_api, reference, eng.TEST_LABELS)
        image_id = docker_api.inspect_image(reference)["Id"]
        made.append(image_id)
        return reference, image_id

    make.made = made
    yield make
    for image_id in made:
        remove_image_and_its_containers(docker_api, image_id)


# -- objects whose pages the page-crawling tests visit (CSP, accessibility, widths) -----------


@pytest.fixture
def built(docker_api):
    """References (or ids) of images a test builds; removed with all their tags afterwards."""
    references: list[str] = []
    yield references
    for reference in reversed(references):
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_image(reference, force=True)


@pytest.fixture
def volume_with_a_file(docker_api, make_container):
    """A labelled volume holding hello.txt and a folder, conf/: its file pages have content."""
    name = eng.unique_name("dwt-vol")
    docker_api.create_volume(name, labels=eng.TEST_LABELS)
    writer = make_container(
        ("sh", "-c", "mkdir -p /data/conf && echo hello-from-the-volume > /data/hello.txt"),
        host_config={"binds": {name: {"bind": "/data", "mode": "rw"}}},
    )
    wait_for(lambda: not docker_api.inspect_container(writer["Id"])["State"]["Running"])
    docker_api.remove_container(writer["Id"], force=True)
    yield name
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_volume(name, force=True)


@pytest.fixture
def network(docker_api):
    """A labelled network's id, removed afterwards."""
    created = docker_api.create_network(eng.unique_name("dwt-net"), labels=eng.TEST_LABELS)
    yield created["Id"]
    with contextlib.suppress(docker.errors.APIError):
        docker_api.remove_network(created["Id"])
