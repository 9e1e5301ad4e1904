"""Typed readers for settings that come from the environment.

Each helper fails loudly (ImproperlyConfigured naming the variable and the bad value)
instead of silently falling back, so a typo in a deployment shows up at start-up.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dockerweb.engine_specs import DeclaredEngine, TlsMaterial, valid_name
from dockerweb.private_files import create_private_file, private_dir

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def split_host_port(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` → (host, port or None); ValueError if malformed."""
    if entry.startswith("["):
        host, bracket, rest = entry.partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(entry)
        host, port = host + "]", rest[1:] or None
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, None
    if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(entry)
    return host, None if port is None else int(port)


def env_hosts(name: str, default: list[str]) -> list[tuple[str, int | None]]:
    """A comma-separated list of host names, each optionally with a port: [(host, port)]."""
    hosts = []
    for entry in env_list(name, default):
        try:
            hosts.append(split_host_port(entry))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} entries must be host names, optionally with :port, got {entry!r}"
            ) from None
    return hosts


def env_abs_paths(name: str) -> list[str]:
    """A comma-separated list of absolute paths (default empty); a relative one is an error."""
    paths = env_list(name, [])
    for path in paths:
        if not os.path.isabs(path):
            raise ImproperlyConfigured(f"{name} entries must be absolute paths, got {path!r}")
    return paths


def env_docker_host(name: str = "DOCKER_HOST") -> str:
    """DOCKER_HOST as the docker CLI reads it: unix://, tcp://, ssh:// or npipe://."""
    return docker_address(name, env_str(name, "unix:///var/run/docker.sock"))


def docker_address(name: str, raw: str) -> str:
    if not raw:
        return "unix:///var/run/docker.sock"
    if "://" not in raw:
        raise ImproperlyConfigured(
            f"{name} must be a URL such as unix:///var/run/docker.sock or tcp://host:2375, got {raw!r}"
        )
    scheme = raw.split("://", 1)[0]
    if scheme not in {"unix", "tcp", "ssh", "http", "https", "npipe"}:
        raise ImproperlyConfigured(f"{name} has an unsupported scheme {scheme!r}: {raw!r}")
    return raw


def env_url(name: str, schemes: set[str]) -> str:
    raw = env_str(name)
    if raw and raw.split("://", 1)[0] not in schemes:
        raise ImproperlyConfigured(f"{name} must start with one of {sorted(schemes)}, got {raw!r}")
    return raw


def data_dir(name: str, default: Path) -> Path:
    """The portal's data folder, created (or tightened to) mode 0700."""
    path = Path(env_str(name) or default).expanduser().resolve()
    try:
        private_dir(path)
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot create {path}: {exc}") from exc
    return path


def persistent_secret_key(directory: Path) -> str:
    """A random key generated once and kept (mode 0600) in the data directory."""
    from django.core.management.utils import get_random_secret_key

    key_file = directory / "secret_key"
    key = get_random_secret_key()
    # Another process (e.g. migrate beside daphne) may have made it first: then read theirs.
    if create_private_file(key_file, key.encode()):
        return key
    return key_file.read_text().strip()


def env_engines(name: str = "DOCKERWEB_ENGINES") -> list[DeclaredEngine]:
    """DOCKERWEB_ENGINES=local=unix:///var/run/docker.sock,edge=tcp://10.0.0.5:2376 — the
    engines configuration management declares; TLS material for engine NAME is read from
    DOCKERWEB_ENGINE_<NAME>_TLS_DIR (ca.pem, cert.pem, key.pem: the docker CLI's layout).
    Empty when unset (then the one engine is DOCKER_HOST, named "local")."""

    raw = env_str(name)
    declared: list[DeclaredEngine] = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        engine, sep, address = entry.partition("=")
        engine = engine.strip()
        if not sep or not valid_name(engine):
            raise ImproperlyConfigured(
                f"{name}: each entry is name=address with a lower-case name of letters, digits"
                f" and dashes, got {entry!r}"
            )
        if any(known.name == engine for known in declared):
            raise ImproperlyConfigured(f"{name} names the engine {engine!r} twice")
        address = docker_address(f"{name} ({engine})", address.strip() or "-")
        tls_variable = f"DOCKERWEB_ENGINE_{engine.upper().replace('-', '_')}_TLS_DIR"
        tls_dir = env_str(tls_variable)
        tls = None
        if tls_dir:
            files = {part: Path(tls_dir) / f"{part}.pem" for part in ("ca", "cert", "key")}
            missing = [str(path) for path in files.values() if not path.is_file()]
            if missing:
                raise ImproperlyConfigured(f"{tls_variable}: missing {', '.join(missing)}")
            tls = TlsMaterial(**{part: path.read_text() for part, path in files.items()})
        elif address.startswith("tcp://") and address.endswith(":2376"):
            raise ImproperlyConfigured(
                f"{name}: engine {engine!r} at {address} uses TLS (port 2376): set {tls_variable}"
            )
        declared.append(DeclaredEngine(engine, address, tls))
    return declared
