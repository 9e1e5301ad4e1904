"""Forms of the swarm pages: a new service, its scale, its image, a node's availability.

They check the shape of what is typed. Whether this user may have the result (host paths,
the engine socket, the portal's labels…) is the host-access policy's to say, judged on the
complete service spec (swarm/services.py), never here field by field.
"""

from django import forms
from django.core.exceptions import ValidationError

from dockerweb import parsing
from dockerweb.gateway.swarm_types import (
    AVAILABILITIES,
    NewService,
    ServiceMountSpec,
    ServicePortSpec,
)

MAX_REPLICAS = 100


def parse_service_ports(text: str) -> tuple[ServicePortSpec, ...]:
    """`published:target[/proto]` or `target[/proto]` lines; the swarm publishes a port on
    every node (no host address)."""
    specs = []
    for port in parsing.parse_ports(text):
        if port.host_ip:
            raise ValidationError(
                f"{port.host_ip}: a service publishes its port on every node of the swarm; "
                "give published:target without an address."
            )
        specs.append(ServicePortSpec(port.container_port, port.host_port, port.protocol))
    return tuple(specs)


def parse_mounts(text: str) -> tuple[ServiceMountSpec, ...]:
    """`volume-name:/path[:ro]` (a named volume) or `/host/path:/path[:ro]` (a bind mount of
    a host path) lines."""
    mounts, errors, targets = [], [], {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        read_only = False
        if len(parts) == 3 and parts[2] in ("ro", "rw"):
            read_only = parts.pop() == "ro"
        if len(parts) != 2:
            errors.append(f"Line {number}: “{line}” needs the form source:/path[:ro].")
            continue
        source, target = parts
        if source.startswith("/"):
            kind = "bind"
        elif parsing.OBJECT_NAME_RE.match(source):
            kind = "volume"
        else:
            errors.append(
                f"Line {number}: “{source}” is neither a volume name (letters, digits, _ . -) "
                "nor an absolute host path."
            )
            continue
        if not target.startswith("/") or ".." in target.split("/"):
            errors.append(f"Line {number}: the container path “{target}” must be absolute.")
            continue
        target = target.rstrip("/") or "/"
        if target in targets:
            errors.append(f"Line {number}: {target} is already mounted on line {targets[target]}.")
            continue
        targets[target] = number
        mounts.append(ServiceMountSpec(kind, source, target, read_only))
    if errors:
        raise ValidationError(errors)
    return tuple(mounts)


class NewServiceForm(forms.Form):
    image = forms.CharField(
        label="Image",
        max_length=512,
        help_text="An image on this engine (its nodes run it), such as name:tag.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    name = forms.CharField(label="Name", max_length=63)
    replicas = forms.IntegerField(label="Replicas", min_value=0, max_value=MAX_REPLICAS, initial=1)
    ports = forms.CharField(
        label="Ports",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "8080:80\n5353:53/udp"}),
        help_text="One per line: published port:container port[/tcp|udp] — published on every node.",
    )
    env = forms.CharField(
        label="Environment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "KEY=value"}),
        help_text="One KEY=VALUE per line.",
    )
    mounts = forms.CharField(
        label="Mounts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "data:/var/lib/data\n"}),
        help_text="One per line: volume-name:/path[:ro]; administrators may bind an allowed "
        "host folder with /host/path:/path[:ro].",
    )
    command = forms.CharField(
        label="Command",
        max_length=4096,
        required=False,
        help_text="Overrides the image's command; quoted as in a shell.",
    )
    labels = forms.CharField(
        label="Labels",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "com.example.team=web"}),
        help_text="One key=value per line, on the service and its tasks' containers.",
    )

    def clean_image(self):
        return parsing.parse_image(self.cleaned_data["image"])

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not parsing.OBJECT_NAME_RE.match(name) or "." in name or "_" in name:
            raise ValidationError(
                "A service name may only contain letters, digits and -, start with a letter "
                "or digit and have at least 2 characters."
            )
        return name

    def clean_ports(self):
        return parse_service_ports(self.cleaned_data["ports"])

    def clean_env(self):
        return parsing.parse_env(self.cleaned_data["env"])

    def clean_mounts(self):
        return parse_mounts(self.cleaned_data["mounts"])

    def clean_command(self):
        return parsing.parse_command(self.cleaned_data["command"])

    def clean_labels(self):
        return parsing.parse_labels(self.cleaned_data["labels"])

    def new_service(self) -> NewService:
        data = self.cleaned_data
        return NewService(
            image=data["image"],
            name=data["name"],
            replicas=data["replicas"],
            command=data["command"],
            env=data["env"],
            ports=data["ports"],
            mounts=data["mounts"],
            labels=data["labels"],
        )


class ScaleForm(forms.Form):
    replicas = forms.IntegerField(label="Replicas", min_value=0, max_value=MAX_REPLICAS)


class UpdateImageForm(forms.Form):
    image = forms.CharField(
        label="Image",
        max_length=512,
        help_text="The tasks are replaced one by one with this image (a rolling update).",
    )

    def clean_image(self):
        return parsing.parse_image(self.cleaned_data["image"])


class NodeForm(forms.Form):
    availability = forms.ChoiceField(
        label="Availability", choices=[(a, a.capitalize()) for a in AVAILABILITIES]
    )
    labels = forms.CharField(
        label="Labels",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One key=value per line: the node's whole set.",
    )

    def clean_labels(self):
        return parsing.parse_key_values(
            self.cleaned_data["labels"], what="label", key_re=parsing.LABEL_KEY_RE
        )
