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

from dockerweb.private_files import create_private_file


@cache
def _fernet() -> Fernet:
    key = os.environ.get("DOCKERWEB_ENCRYPTION_KEY", "").strip()
    if not key:
        key_file = settings.DATA_DIR / "encryption_key"
        # Made once, 0600; an existing one is kept (and tightened if it was readable).
        create_private_file(key_file, Fernet.generate_key())
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
