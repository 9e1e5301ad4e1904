"""The container settings form: prefilled from the container's settings as they are
(gateway.recreate.ContainerSettings), turned into the changes (and a readable diff) of a
recreate."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from containers.permissions import SEE_ENV
from dockerweb.gateway.errors import InvalidRequest
from dockerweb.gateway.recreate import (
    ContainerSettings,
    RestartPolicy,
    SettingsChange,
    parse_memory,
    port_key,
    volume_key,
)
from dockerweb.gateway.types import PORTAL_LABEL_PREFIX, PortSpec, VolumeSpec
from dockerweb.parsing import OBJECT_NAME_RE, parse_env, parse_labels, parse_ports, parse_volumes

RESTART_CHOICES = [
    ("no", "No (never restart)"),
    ("always", "Always"),
    ("unless-stopped", "Unless stopped"),
    ("on-failure", "On failure"),
]
_NANO = 1_000_000_000
# The engine's range is 0.01 to the host's CPU count; this bound keeps NanoCpus an int64.
MIN_CPUS, MAX_CPUS = Decimal("0.01"), 1024


@dataclass(frozen=True)
class DiffLine:
    """One changed setting: what it is now and what it will be. `secret` values are masked."""

    field: str
    old: str
    new: str
    secret: bool = False
    old_set: bool = True
    new_set: bool = True


def _lines(pairs) -> str:
    return "\n".join(f"{key}={value}" for key, value in pairs)


def _memory_text(value: int) -> str:
    if not value:
        return ""
    for unit, size in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def _cpus_text(nano: int) -> str:
    if not nano:
        return ""
    return format((Decimal(nano) / _NANO).normalize(), "f")


def _policy_text(policy: RestartPolicy) -> str:
    if policy.name == "on-failure" and policy.max_retries:
        return f"on-failure (at most {policy.max_retries} retries)"
    return policy.name


def _port_text(port: PortSpec) -> str:
    """The run form's syntax: `[ip:]host:container/proto`, or `container/proto`."""
    if port.host_port is None:
        return f"{port.container_port}/{port.protocol}"
    ip = ""
    if port.host_ip:
        ip = f"[{port.host_ip}]:" if ":" in port.host_ip else f"{port.host_ip}:"
    return f"{ip}{port.host_port}:{port.container_port}/{port.protocol}"


def _volume_text(volume: VolumeSpec) -> str:
    """The run form's syntax: `name:/dest[:ro]`, `/src:/dest[:ro]` or `/dest`."""
    source = volume.bind_source or volume.name
    text = f"{source}:{volume.destination}" if source else volume.destination
    return f"{text}:ro" if volume.read_only else text


class ContainerSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    env = forms.CharField(
        label="Environment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
        help_text="One KEY=VALUE per line.",
    )
    restart_policy = forms.ChoiceField(choices=RESTART_CHOICES)
    max_retries = forms.IntegerField(
        label="Maximum retries (on failure)",
        required=False,
        min_value=0,
        max_value=1000,
        help_text="Only for “On failure”; empty or 0 = no limit.",
    )
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono", "spellcheck": "false"}),
        help_text="One key=value per line.",
    )
    memory = forms.CharField(
        label="Memory limit",
        required=False,
        help_text="e.g. 512m or 1g; empty = no limit.",
    )
    cpus = forms.CharField(
        label="CPU limit",
        required=False,
        help_text="Number of CPUs, e.g. 1.5; empty = no limit.",
    )
    ports = forms.CharField(
        label="Published ports",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"}),
        help_text="One per line: [ip:]host:container[/proto], or container[/proto] for a port "
        "the engine picks.",
    )
    volumes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "spellcheck": "false"}),
        help_text="One per line: name:/path[:ro] (named volume), /path (anonymous volume) or "
        "/host/path:/path[:ro] (bind mount, admins only, inside the allowed roots).",
    )
    tty = forms.BooleanField(label="Allocate a TTY (and keep stdin open)", required=False)

    def __init__(self, current: ContainerSettings, *args, user=None, **kwargs):
        """`current`: the container's settings as they are (what "unchanged" means); `user`:
        whose bind mounts the bind policy checks, and who may see environment values."""
        self.user = user
        self.current = current
        # Environment values are secrets: without the permission the field isn't there at
        # all (never rendered, never changed) and the page lists the variables' names only.
        self.env_hidden = user is None or not user.has_perm(SEE_ENV)
        initial = self.initial_from(self.current)
        if self.env_hidden:
            initial.pop("env")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        if self.env_hidden:
            del self.fields["env"]

    @property
    def env_names(self) -> list[str]:
        return [entry.partition("=")[0] for entry in self.current.env]

    @property
    def shows_env_values(self) -> bool:
        return not self.env_hidden and bool(self.current.env)

    # -- the container as it is ------------------------------------------------------------

    @staticmethod
    def initial_from(current: ContainerSettings) -> dict:
        policy = current.restart_policy
        return {
            "name": current.name,
            "env": "\n".join(current.env),
            "labels": _lines(sorted(current.labels.items())),
            "restart_policy": policy.name,
            "max_retries": policy.max_retries or None,
            "memory": _memory_text(current.memory),
            "cpus": _cpus_text(current.nano_cpus),
            "ports": "\n".join(_port_text(p) for p in current.ports),
            "volumes": "\n".join(_volume_text(v) for v in current.volumes),
            "tty": current.tty,
        }

    # -- validation ------------------------------------------------------------------------

    def clean_name(self):
        name = self.cleaned_data["name"].strip().lstrip("/")
        if not OBJECT_NAME_RE.match(name):
            raise ValidationError(
                "A name uses letters, digits, “_”, “.” and “-”, starts with a letter or digit "
                "and has at least two characters."
            )
        return name

    def clean_env(self):
        return parse_env(self.cleaned_data["env"])

    def clean_labels(self):
        portal_labels = {
            key: value
            for key, value in self.current.labels.items()
            if key.startswith(PORTAL_LABEL_PREFIX)
        }
        return parse_labels(self.cleaned_data["labels"], portal_labels=portal_labels)

    def clean_memory(self):
        try:
            return parse_memory(self.cleaned_data["memory"])
        except InvalidRequest as exc:
            raise ValidationError(str(exc)) from None

    def clean_cpus(self):
        text = self.cleaned_data["cpus"].strip()
        if not text:
            return 0
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValidationError(f"“{text}” is not a number of CPUs such as 1.5.") from None
        if not value.is_finite() or value < 0:
            raise ValidationError(f"“{text}” is not a number of CPUs such as 1.5.")
        # Checked before multiplying: int() of 1e999999999 CPUs would build a billion digits.
        if value > MAX_CPUS:
            raise ValidationError(f"At most {MAX_CPUS} CPUs.")
        if 0 < value < MIN_CPUS:
            raise ValidationError(f"At least {MIN_CPUS} CPUs (or empty for no limit).")
        return int(value * _NANO)

    def clean_ports(self):
        return tuple(sorted(parse_ports(self.cleaned_data["ports"]), key=port_key))

    def clean_volumes(self):
        """The bind policy applies to bind mounts being added; a bind the container already
        has, kept exactly as it is, is not a new bind of a host path."""
        existing = {}
        for volume in self.current.volumes:
            if volume.bind_source:
                existing[_volume_text(volume)] = volume
                if not volume.read_only:
                    existing[f"{_volume_text(volume)}:rw"] = volume
        kept, rest = [], []
        for raw in self.cleaned_data["volumes"].splitlines():
            volume = existing.get(raw.strip())
            if volume is not None:
                kept.append(volume)
                rest.append("")  # keeps the line numbers of error messages right
            else:
                rest.append(raw)
        parsed = parse_volumes("\n".join(rest), user=self.user)
        destinations = [v.destination for v in (*kept, *parsed)]
        repeated = sorted({d for d in destinations if destinations.count(d) > 1})
        if repeated:
            raise ValidationError(f"{', '.join(repeated)} is mounted more than once.")
        return tuple(sorted((*kept, *parsed), key=volume_key))

    def clean(self):
        data = super().clean()
        if data.get("restart_policy") != "on-failure" and data.get("max_retries"):
            self.add_error("max_retries", "Retries only apply to the “On failure” policy.")
        return data

    # -- what changes ----------------------------------------------------------------------

    def change(self) -> SettingsChange:
        """Only the fields that differ from the container as it is."""
        data = self.cleaned_data
        current = self.current
        policy = RestartPolicy(
            name=data["restart_policy"], max_retries=data.get("max_retries") or 0
        )
        wanted = {
            "name": data["name"],
            "env": current.env if self.env_hidden else data["env"],
            "labels": data["labels"],
            "restart_policy": policy,
            "memory": data["memory"],
            "nano_cpus": data["cpus"],
            "ports": data["ports"],
            "volumes": data["volumes"],
            "tty": data["tty"],
        }
        return SettingsChange(
            **{key: value for key, value in wanted.items() if value != getattr(current, key)}
        )

    def diff(self, change: SettingsChange) -> list[DiffLine]:
        current = self.current
        lines = []
        if change.name is not None:
            lines.append(DiffLine("Name", current.name, change.name))
        if change.env is not None:
            old = dict(e.partition("=")[::2] for e in current.env)
            new = dict(e.partition("=")[::2] for e in change.env)
            for key in sorted(old.keys() | new.keys()):
                if old.get(key) != new.get(key):
                    lines.append(
                        DiffLine(
                            f"Environment {key}",
                            old.get(key, "(not set)"),
                            new.get(key, "(removed)"),
                            secret=True,
                            old_set=key in old,
                            new_set=key in new,
                        )
                    )
        if change.labels is not None:
            old, new = current.labels, change.labels
            for key in sorted(old.keys() | new.keys()):
                if old.get(key) != new.get(key):
                    lines.append(
                        DiffLine(
                            f"Label {key}",
                            old.get(key, "(not set)"),
                            new.get(key, "(removed)"),
                            old_set=key in old,
                            new_set=key in new,
                        )
                    )
        if change.restart_policy is not None:
            lines.append(
                DiffLine(
                    "Restart policy",
                    _policy_text(current.restart_policy),
                    _policy_text(change.restart_policy),
                )
            )
        if change.memory is not None:
            lines.append(
                DiffLine(
                    "Memory limit",
                    _memory_text(current.memory) or "no limit",
                    _memory_text(change.memory) or "no limit",
                )
            )
        if change.nano_cpus is not None:
            lines.append(
                DiffLine(
                    "CPU limit",
                    _cpus_text(current.nano_cpus) or "no limit",
                    _cpus_text(change.nano_cpus) or "no limit",
                )
            )
        if change.ports is not None:
            lines.extend(_set_diff("Published port", current.ports, change.ports, _port_text))
        if change.volumes is not None:
            lines.extend(_set_diff("Volume", current.volumes, change.volumes, _volume_text))
        if change.tty is not None:
            lines.append(DiffLine("TTY and open stdin", _yes_no(current.tty), _yes_no(change.tty)))
        return lines


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _set_diff(what: str, old, new, text) -> list[DiffLine]:
    """One line per entry removed or added (as the run form writes them)."""
    old_texts = [text(item) for item in old]
    new_texts = [text(item) for item in new]
    lines = [
        DiffLine(what, value, "(removed)", new_set=False)
        for value in old_texts
        if value not in new_texts
    ]
    lines += [
        DiffLine(what, "(not set)", value, old_set=False)
        for value in new_texts
        if value not in old_texts
    ]
    return lines
