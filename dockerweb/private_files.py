"""The data directory is the portal's alone: the folder 0700, its files 0600.

It holds password hashes, sessions, the secret key and the key to stored registry passwords.
Everything is created private from the start. A data directory from before (0755, files 0644)
is tightened on start-up where the portal's user owns it, with a warning naming each change;
what belongs to another user is left alone, with a warning, for its owner to fix.

Called while settings load, before logging is configured: warnings go to stderr.
"""

import logging
import os
import stat
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600

log = logging.getLogger(__name__)


def tighten(path: Path, mode: int) -> None:
    """Drop any permission beyond `mode` from `path`, if it exists and is ours."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return  # never chmod through a link to somewhere else
    current = stat.S_IMODE(info.st_mode)
    if not current & ~mode:
        return
    if info.st_uid != os.geteuid():
        log.warning("%s is mode %o and belongs to another user: make it %o", path, current, mode)
        return
    try:
        os.chmod(path, current & mode)
    except OSError as exc:  # e.g. a read-only mount: serve anyway, but say so
        log.warning("%s is mode %o and can't be made %o: %s", path, current, mode, exc)
        return
    log.warning("Tightened %s from mode %o to %o: only the portal may read it", path, current, mode)


# What the portal keeps in its data directory (secret_box.py and settings.py name them).
KEPT_FILES = (
    "secret_key",
    "encryption_key",
    "dockerweb.sqlite3",
    "dockerweb.sqlite3-wal",
    "dockerweb.sqlite3-shm",
    "dockerweb.sqlite3-journal",
)


def private_dir(path: Path) -> None:
    """Create the folder 0700 (parents as usual), or tighten it and what the portal keeps in
    it if it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
    for name in KEPT_FILES:
        tighten(path / name, FILE_MODE)


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create `path` 0600 holding `content`; False if it already existed (then it is tightened).

    Written under a temporary name and linked into place, so a process starting beside this
    one (migrate beside daphne) sees the whole file or none, never an empty key.
    """
    if path.exists():
        tighten(path, FILE_MODE)
        return False
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.link(temporary, path)
    except FileExistsError:  # the other process won
        tighten(path, FILE_MODE)
        return False
    finally:
        os.unlink(temporary)
    return True


def private_sqlite(path: Path) -> None:
    """The SQLite database created empty and 0600 before SQLite opens it, so its -wal and -shm
    files, which SQLite creates with the database file's mode, are private too."""
    create_private_file(path)
