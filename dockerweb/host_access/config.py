"""What host access a container configuration holds, read from the complete create body.

Every field that reaches outside the container is looked at here, in the body the engine
would receive — never in the form that produced it: a form field is only one of the ways to
ask for a thing (Portainer's advisories GHSA-7fw3 and GHSA-5fxq came from checking fields).
Nothing here calls the engine: facts about named volumes come in from the caller.
"""

import os
from dataclasses import dataclass, field

# Mounting over these replaces what the container's own programs run or the kernel's view
# of itself; a mount at the path itself or anywhere below those in UNDER_SYSTEM_PATHS counts.
SYSTEM_PATHS = frozenset(
    {"/", "/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}
    | {"/proc", "/sys", "/dev", "/boot"}
)
UNDER_SYSTEM_PATHS = (
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/libexec",
    "/usr/local/bin",
    "/usr/local/sbin",
)
# The engine masks these kernel files in every unprivileged container; a body that lists
# masked or read-only paths without them has them opened up (like systempaths=unconfined).
DEFAULT_MASKED = frozenset({"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"})
DEFAULT_READ_ONLY = frozenset({"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"})
NAMESPACES = (
    ("PidMode", "the host's processes"),
    ("IpcMode", "the host's shared memory"),
    ("NetworkMode", "the host's network"),
    ("UTSMode", "the host's hostname"),
    ("UsernsMode", "the host's user namespace"),
    # Not CgroupnsMode: "host" is the engine's own default on cgroup v1 hosts, and an
    # unprivileged container sees its cgroup tree read-only either way.
)
SAFE_SECURITY_OPTIONS = frozenset({"no-new-privileges", "no-new-privileges:true"})
DEFAULT_RUNTIMES = frozenset({"", "runc"})


@dataclass(frozen=True)
class Mount:
    """One thing mounted into the container, whichever field asked for it."""

    kind: str  # "bind", "volume" (named), "anonymous", "tmpfs" or another engine type
    target: str
    source: str = ""  # host path of a bind, name of a named volume
    read_only: bool = False
    # The driver (and its options) a volume this mount creates would get.
    driver: str = ""
    driver_options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One way the configuration reaches the host. `field` is the form field it concerns
    ("volumes", "labels", "image"), or "" when no form field expresses it."""

    what: str
    field: str = ""


def mounts_of(body: dict) -> list[Mount]:
    """Every mount of a create body: HostConfig.Binds, HostConfig.Mounts, Config.Volumes."""
    host = body.get("HostConfig") or {}
    mounts: list[Mount] = []
    for bind in host.get("Binds") or ():
        source, _, rest = bind.partition(":")
        target, _, mode = rest.partition(":")
        read_only = "ro" in mode.split(",")
        if source.startswith("/"):
            mounts.append(Mount("bind", target, source, read_only))
        else:
            mounts.append(Mount("volume", target, source, read_only))
    for mount in host.get("Mounts") or ():
        kind = (mount.get("Type") or "volume").lower()
        source = mount.get("Source") or ""
        driver_config = (mount.get("VolumeOptions") or {}).get("DriverConfig") or {}
        if kind == "volume" and not source:
            kind = "anonymous"
        mounts.append(
            Mount(
                kind,
                mount.get("Target") or "",
                source,
                bool(mount.get("ReadOnly")),
                driver_config.get("Name") or "",
                dict(driver_config.get("Options") or {}),
            )
        )
    covered = {m.target for m in mounts}
    for target in body.get("Volumes") or {}:
        if target not in covered:
            mounts.append(Mount("anonymous", target))
    return mounts


def is_bind_style(options: dict) -> bool:
    """Volume driver options that make the local driver mount a host path."""
    lowered = {str(key).lower(): str(value) for key, value in (options or {}).items()}
    return "device" in lowered or "bind" in lowered.get("o", "").lower()


def over_system_path(target: str) -> bool:
    path = os.path.normpath(target or "/")
    if path in SYSTEM_PATHS:
        return True
    return any(path.startswith(f"{root}/") for root in UNDER_SYSTEM_PATHS)


def host_access(body: dict, volumes: dict) -> list[Finding]:
    """Every way `body` reaches the host. `volumes`: name → the existing volume (an object
    with `.driver` and `.options`) or None, for each named volume it mounts."""
    host = body.get("HostConfig") or {}
    found: list[Finding] = []
    add = found.append
    if host.get("Privileged"):
        add(Finding("runs privileged (every device and capability of the host)"))
    if host.get("CapAdd"):
        add(Finding(f"adds the capabilities {', '.join(sorted(host['CapAdd']))}"))
    if host.get("Capabilities"):
        add(Finding("sets its own capability set"))
    if host.get("Devices") or host.get("DeviceRequests") or host.get("DeviceCgroupRules"):
        add(Finding("uses host devices"))
    for key, what in NAMESPACES:
        mode = host.get(key) or ""
        if mode == "host":
            add(Finding(f"shares {what}"))
        elif key in ("PidMode", "IpcMode") and mode.startswith("container:"):
            add(Finding(f"joins another container's {key[:-4].lower()} namespace"))
    unsafe = [o for o in host.get("SecurityOpt") or () if o not in SAFE_SECURITY_OPTIONS]
    if unsafe:
        add(Finding(f"sets the security options {', '.join(unsafe)}"))
    if host.get("Sysctls"):
        add(Finding(f"sets the kernel parameters {', '.join(sorted(host['Sysctls']))}"))
    if host.get("CgroupParent"):
        add(Finding(f"runs in the host cgroup {host['CgroupParent']}"))
    if (host.get("Runtime") or "") not in DEFAULT_RUNTIMES:
        add(Finding(f"runs with the runtime {host['Runtime']}"))
    masked, read_only = host.get("MaskedPaths"), host.get("ReadonlyPaths")
    if (masked is not None and not DEFAULT_MASKED <= set(masked)) or (
        read_only is not None and not DEFAULT_READ_ONLY <= set(read_only)
    ):
        add(Finding("opens kernel paths the engine masks"))
    if host.get("VolumesFrom"):
        add(Finding("mounts the volumes of other containers", "volumes"))
    for mount in mounts_of(body):
        found.extend(_mount_findings(mount, volumes))
    return found


def host_path_of(mount: Mount, volumes: dict) -> str:
    """The host path a mount reaches, or "": a bind's source, or the device of a volume whose
    options bind one (the existing volume's options, else those this mount would create it
    with; "(bind)" when they bind without naming a device)."""
    if mount.kind == "bind":
        return mount.source
    if mount.kind in ("volume", "anonymous"):
        existing = volumes.get(mount.source) if mount.source else None
        options = existing.options if existing is not None else mount.driver_options
        if is_bind_style(options):
            return options.get("device") or "(bind)"
    return ""


def _mount_findings(mount: Mount, volumes: dict) -> list[Finding]:
    found = []
    host_path = host_path_of(mount, volumes)
    if mount.kind == "bind":
        found.append(Finding(f"mounts the host path {host_path} at {mount.target}", "volumes"))
    elif host_path:
        found.append(
            Finding(f"mounts a volume of the host path {host_path} at {mount.target}", "volumes")
        )
    elif mount.kind not in ("volume", "anonymous", "tmpfs"):
        found.append(Finding(f"mounts a {mount.kind} at {mount.target}", "volumes"))
    if mount.kind in ("bind", "volume", "anonymous") and over_system_path(mount.target):
        found.append(Finding(f"mounts over the system path {mount.target}", "volumes"))
    return found
