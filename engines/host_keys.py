"""How an SSH host key is shown to people: OpenSSH's SHA256 fingerprint, as `ssh-keygen -l`
and the first-connection prompt print it, so an administrator can compare it with the
host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`)."""

import base64
import binascii
import hashlib


def fingerprint(host_key: str) -> str:
    """ "ssh-ed25519 AAAA…" → "SHA256:…" ("" for no key, "unreadable key" for junk)."""
    parts = host_key.split()
    if len(parts) < 2:
        return ""
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return "unreadable key"
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def key_type(host_key: str) -> str:
    return host_key.split()[0] if host_key.split() else ""
