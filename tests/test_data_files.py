"""The data directory holds password hashes, sessions, the secret key and the key to stored
registry passwords: on disk it is the portal's alone (0700, files 0600), from a fresh
`make run`-style start, and an older, looser one is tightened."""

import contextlib
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import start_portal, stop_portal

DATABASE = "dockerweb.sqlite3"
KEYS = ("secret_key", "encryption_key")


@contextlib.contextmanager
def umask(mask: int):
    """The usual umask (022) for the portal's processes, whatever the test runner's is."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.stat(path).st_mode))


def store_a_registry_secret(portal) -> None:
    """What makes the portal create its encryption key: storing a secret."""
    portal.manage("shell", "-c", "from dockerweb.secret_box import encrypt; encrypt('x')")


# Run by the portal's own code (`manage.py shell`): a write through Django's connection, and
# the modes of the WAL and shared-memory files while it is still open (SQLite removes them when
# the last connection closes, so they can't be seen after a request has ended).
WAL_MODES = """
import json, os, stat
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
User.objects.filter(username="admin").update(first_name="")
name = settings.DATABASES["default"]["NAME"]
print(json.dumps({
    os.path.basename(f"{name}{suffix}"): oct(stat.S_IMODE(os.stat(f"{name}{suffix}").st_mode))
    for suffix in ("-wal", "-shm")
}))
connection.close()
"""


def modes_on_disk(portal) -> dict[str, str]:
    """Modes of everything the portal keeps, the database's -wal and -shm while in use."""
    import json

    portal.session()  # a log-in through the running portal: sessions written
    found = {name: mode(portal.data_dir / name) for name in (DATABASE, *KEYS)}
    in_use = json.loads(portal.manage("shell", "-c", WAL_MODES).strip().splitlines()[-1])
    return {"data dir": mode(portal.data_dir), **found, **in_use}


PRIVATE = {
    "data dir": "0o700",
    DATABASE: "0o600",
    f"{DATABASE}-wal": "0o600",
    f"{DATABASE}-shm": "0o600",
    "secret_key": "0o600",
    "encryption_key": "0o600",
}


@pytest.fixture
def fresh_data_dir(tmp_path):
    data_dir = tmp_path / "var"
    assert not data_dir.exists()
    return data_dir


def test_a_fresh_start_creates_the_data_private(fresh_data_dir):
    with umask(0o022):
        # migrate and ensure_admin in subprocesses, then Daphne: what `make run` does.
        portal, process = start_portal(fresh_data_dir, from_scratch=True)
    try:
        store_a_registry_secret(portal)
        assert modes_on_disk(portal) == PRIVATE
    finally:
        stop_portal(process)


def test_an_older_world_readable_data_dir_is_tightened_on_start(fresh_data_dir):
    with umask(0o022):
        portal, process = start_portal(fresh_data_dir, from_scratch=True)
        store_a_registry_secret(portal)
        stop_portal(process)
        # As an older portal left it: everything readable by everyone.
        os.chmod(fresh_data_dir, 0o755)  # noqa: S103 - the looseness under test
        for name in (DATABASE, *KEYS):
            os.chmod(fresh_data_dir / name, 0o644)

        portal, process = start_portal(fresh_data_dir, from_scratch=True)
    try:
        assert modes_on_disk(portal) == PRIVATE
    finally:
        stop_portal(process)
