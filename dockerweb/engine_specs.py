"""What identifies and reaches an engine, as plain values (no Django, no docker-py), so the
settings can read DOCKERWEB_ENGINES with them and the gateway can connect with them."""

import re
from dataclasses import dataclass

# An engine's name is a URL segment (/engines/<name>/…) and part of channel-layer group names.
NAME_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?"
_NAME_RE = re.compile(rf"^{NAME_PATTERN}$")


def valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))


@dataclass(frozen=True)
class TlsMaterial:
    """An engine's TLS trust and identity, as PEM text: the CA that signed the engine's
    certificate (the only one trusted for it) and the portal's client certificate and key."""

    ca: str
    cert: str
    key: str


@dataclass(frozen=True)
class SshMaterial:
    """An SSH engine's private key (PEM/OpenSSH text) and the host key it must present
    ("ssh-ed25519 AAAA…"; empty only while an administrator verifies a new engine)."""

    key: str
    host_key: str = ""


@dataclass(frozen=True)
class EngineSpec:
    """Everything needed to connect to one engine; two equal specs make the same Engine."""

    name: str
    address: str
    timeout: float
    tls: TlsMaterial | None = None
    ssh: SshMaterial | None = None
    declared: bool = True  # from the environment (read-only on the Engines page)


LOCAL = "local"


def default_engine_name(declared: "list[DeclaredEngine]") -> str:
    """The first engine DOCKERWEB_ENGINES declares, or "local" (the one at DOCKER_HOST)."""
    return declared[0].name if declared else LOCAL


@dataclass(frozen=True)
class DeclaredEngine:
    """One entry of DOCKERWEB_ENGINES."""

    name: str
    address: str
    tls: TlsMaterial | None
