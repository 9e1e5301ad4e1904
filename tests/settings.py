"""The portal's settings as the tests run it, in process and under Daphne: production's
(dockerweb/settings.py) with one change.

Passwords are hashed with Django's fast test hasher instead of PBKDF2's million rounds (half a
second of CPU each here). The suite makes and logs in hundreds of users on CI's two cores, and
no test is about the hash's strength. Nothing else differs.
"""

from dockerweb.settings import *  # noqa: F403 - everything production sets

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
