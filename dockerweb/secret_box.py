"""Encryption at rest for stored secrets (registry passwords and tokens).

The key lives in the data directory (generated once, mode 0600) or comes from
DOCKERWEB_ENCRYPTION_KEY; it is separate from Django's SECRET_KEY so rotating that one
does not make stored secrets unreadable.
"""

import os
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet() -> Fernet:
    key = os.environ.get("DOCKERWEB_ENCRYPTION_KEY", "").strip()
    if not key:
        key_file = settings.DATA_DIR / "encryption_key"
        if not key_file.exists():
            fresh = Fernet.generate_key()
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(fresh)
        key = key_file.read_text().strip()
    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DOCKERWEB_ENCRYPTION_KEY is not a valid Fernet key: {exc}"
        ) from exc


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """Raises ValueError if the token was made with another key."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("stored secret can't be decrypted with this portal's key") from None
