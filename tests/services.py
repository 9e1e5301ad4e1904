"""Private PostgreSQL, Redis and nginx for tests of several portal processes (and the bench).

Each runs from Debian's packages (scripts/ensure-test-tools.sh installs them) in a temporary
directory of its own, on a free port of 127.0.0.1, and is a context manager: leaving the
block (a failed test included) stops the server and removes its directory. Nothing of the
machine's own clusters or services is used or touched.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.engine import free_port, wait_for

POSTGRES_USER = "postgres"  # initdb refuses to run as root: the cluster belongs to this user


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]  # the newest major version installed
    on_path = shutil.which(name)
    if not on_path:
        raise RuntimeError("PostgreSQL is needed (apt-get install postgresql)")
    return on_path


def _need(binary: str, package: str) -> str:
    path = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.path.exists(p)), None
    )
    if not path:
        raise RuntimeError(f"{binary} is needed (apt-get install {package})")
    return path


def _stop(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def _as_postgres() -> list[str]:
    """The command prefix that runs a program as the cluster's owner (we may be root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", POSTGRES_USER, "--"]


@contextlib.contextmanager
def postgres(database: str = "dockerweb") -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory, trust logins on
    127.0.0.1 only) with one empty database; yields its DATABASE_URL."""
    root = Path(tempfile.mkdtemp(prefix="dockerweb-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(POSTGRES_USER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data = root / "data"
    port = free_port()
    process = None
    try:
        subprocess.run(
            [*_as_postgres(), _postgres_bin("initdb"), "-D", str(data), "-A", "trust"]
            + ["-U", "postgres", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        log = open(root / "postgres.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [*_as_postgres(), _postgres_bin("postgres"), "-D", str(data), "-p", str(port)]
            + ["-h", "127.0.0.1", "-k", str(root), "-c", "fsync=off"]
            + ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def created() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"postgres exited: {_log_tail(root / 'postgres.log')}")
            done = subprocess.run(
                [_postgres_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
                + ["-d", "postgres", "-c", f"CREATE DATABASE {database}"],
                capture_output=True,
                timeout=10,
            )
            return done.returncode == 0

        wait_for(created, timeout=60, interval=0.2, message="postgres to accept connections")
        yield f"postgres://postgres@127.0.0.1:{port}/{database}"
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A throwaway Redis (no persistence, 127.0.0.1 only); yields its REDIS_URL."""
    binary = _need("redis-server", "redis-server")
    root = Path(tempfile.mkdtemp(prefix="dockerweb-redis-"))
    port = free_port()
    log = open(root / "redis.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(root)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def answering() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"redis-server exited: {_log_tail(root / 'redis.log')}")
            done = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, timeout=5
            )
            return done.stdout.strip() == b"PONG"

        wait_for(answering, timeout=30, interval=0.1, message="redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)
        shutil.rmtree(root, ignore_errors=True)


# The front of several portal processes: the README's "Several portal processes" shows the
# same proxy settings. Websockets need HTTP/1.1 and the Upgrade/Connection headers passed on;
# Host is kept so the portal's origin check sees the address the browser used. No sticky
# sessions: any process serves any request or socket.
NGINX_CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 200m;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream dockerweb {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://dockerweb;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
            proxy_buffering off;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(upstreams: list[str]) -> Iterator[str]:
    """nginx on a free port in front of `upstreams` ("127.0.0.1:port" each, round robin);
    yields its base URL (http://127.0.0.1:port)."""
    binary = _need("nginx", "nginx")
    root = Path(tempfile.mkdtemp(prefix="dockerweb-nginx-"))
    # The workers (nobody, when started as root) must reach the temp paths inside.
    os.chmod(root, 0o755)  # noqa: S103 - a temporary folder holding no secret
    port = free_port()
    servers = "\n".join(f"        server {address};" for address in upstreams)
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port, servers=servers))
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:

        def listening() -> bool:
            if process.poll() is not None:
                raise AssertionError(
                    f"nginx exited: {_log_tail(root / 'stderr.log')}{_log_tail(root / 'error.log')}"
                )
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            return False

        wait_for(listening, timeout=20, interval=0.1, message="nginx to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)  # the master ends its workers as it exits
        shutil.rmtree(root, ignore_errors=True)
