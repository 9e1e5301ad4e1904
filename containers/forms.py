from django import forms
from django.core.exceptions import ValidationError

from dockerweb import gateway, parsing
from dockerweb.gateway.types import RunSpec

RESTART_POLICIES = [
    ("no", "Never restart"),
    ("always", "Always"),
    ("unless-stopped", "Unless stopped"),
    ("on-failure", "On failure"),
]


class RunContainerForm(forms.Form):
    """The "New container" form: everything is checked here before the engine is called."""

    image = forms.CharField(
        label="Image",
        max_length=512,
        help_text="A local image, or any reference such as name:tag.",
        widget=forms.TextInput(
            attrs={"list": "local-images", "autocomplete": "off", "autofocus": True}
        ),
    )
    name = forms.CharField(label="Name", max_length=128, required=False, help_text="Optional.")
    command = forms.CharField(
        label="Command",
        max_length=4096,
        required=False,
        help_text="Overrides the image's command; quoted as in a shell.",
    )
    env = forms.CharField(
        label="Environment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "KEY=value"}),
        help_text="One KEY=VALUE per line.",
    )
    ports = forms.CharField(
        label="Published ports",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "8080:80\n127.0.0.1:5353:53/udp"}),
        help_text="One per line: [host IP:]host port:container port[/tcp|udp], or a container port alone.",
    )
    volumes = forms.CharField(
        label="Volumes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "data:/var/lib/data\n/cache"}),
        help_text="One per line: volume-name:/path[:ro] for a named volume, /path for an anonymous "
        "one; admins may bind an allowed host folder with /host/path:/path[:ro].",
    )
    restart_policy = forms.ChoiceField(
        label="Restart policy", choices=RESTART_POLICIES, initial="no"
    )
    restart_max_retries = forms.IntegerField(
        label="Maximum retries",
        min_value=0,
        max_value=1000,
        required=False,
        help_text="Only with “On failure”; 0 means no limit.",
    )
    auto_remove = forms.BooleanField(label="Remove when it stops", required=False)
    labels = forms.CharField(
        label="Labels",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "com.example.team=web"}),
        help_text="One key=value per line.",
    )
    pull_first = forms.BooleanField(
        label="Pull it first",
        required=False,
        help_text="If the image is not on this engine, pull it (as a job you can watch), "
        "then run the container.",
    )
    # Set by check_against_engine: the image is missing and the user asked to pull it first.
    needs_pull = False

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Bind mounts of host paths depend on who asks (dockerweb.host_access.binds).
        self.user = user

    def clean_image(self):
        return parsing.parse_image(self.cleaned_data["image"])

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if name and not parsing.OBJECT_NAME_RE.match(name):
            raise ValidationError(
                "A name may only contain letters, digits, _ . - (no spaces), start with a letter "
                "or digit, and have at least 2 characters."
            )
        return name

    def clean_command(self):
        return parsing.parse_command(self.cleaned_data["command"])

    def clean_env(self):
        return parsing.parse_env(self.cleaned_data["env"])

    def clean_ports(self):
        return parsing.parse_ports(self.cleaned_data["ports"])

    def clean_volumes(self):
        return parsing.parse_volumes(self.cleaned_data["volumes"], user=self.user)

    def clean_labels(self):
        return parsing.parse_labels(self.cleaned_data["labels"])

    def clean(self):
        data = super().clean()
        policy = data.get("restart_policy")
        retries = data.get("restart_max_retries")
        if retries and policy != "on-failure":
            self.add_error("restart_max_retries", "Maximum retries only applies to “On failure”.")
        if data.get("auto_remove") and policy not in (None, "no"):
            self.add_error(
                "auto_remove", "A container removed when it stops can't also be restarted."
            )
        return data

    def check_against_engine(self) -> bool:
        """Checks that need the engine (name free, image present); False adds field errors.

        Raises GatewayError when the engine can't answer.
        """
        name = self.cleaned_data.get("name")
        if name and gateway.containers.name_in_use(name):
            self.add_error("name", f"The name “{name}” is already used by another container.")
        image = self.cleaned_data.get("image")
        if image and not gateway.images.image_exists(image):
            if self.cleaned_data.get("pull_first"):
                self.needs_pull = True
            else:
                self.add_error(
                    "image",
                    f"The image “{image}” is not on this engine. Tick “Pull it first” to pull "
                    "it, then run.",
                )
        return not self.errors

    def run_spec(self) -> RunSpec:
        data = self.cleaned_data
        return RunSpec(
            image=data["image"],
            name=data["name"],
            command=data["command"],
            env=data["env"],
            ports=data["ports"],
            volumes=data["volumes"],
            restart_policy=data["restart_policy"],
            restart_max_retries=data.get("restart_max_retries") or 0,
            auto_remove=data["auto_remove"],
            labels=data["labels"],
        )

    def add_engine_error(self, exc: gateway.GatewayError) -> None:
        """Put the engine's refusal next to the field it is about."""
        message = str(exc)
        lowered = message.lower()
        if isinstance(exc, gateway.Conflict) and "already in use" in lowered:
            field = "name"
        elif "no such image" in lowered or "pull access denied" in lowered:
            field = "image"
        elif "port is already allocated" in lowered or "address already in use" in lowered:
            field = "ports"
        elif "volume" in lowered or "mount" in lowered:
            field = "volumes"
        else:
            field = None
        self.add_error(field, f"The engine refused: {message}")
