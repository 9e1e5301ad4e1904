"""The create-volume form: name (optional → anonymous), driver, driver options, labels."""

import re

from django import forms
from django.core.exceptions import ValidationError

from dockerweb import gateway
from dockerweb.gateway.volumes import LOCAL_DRIVER
from dockerweb.host_access.binds import check_bind_source
from dockerweb.host_access.config import is_bind_style
from dockerweb.parsing import OBJECT_NAME_RE, parse_key_values, parse_labels

OPTION_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BIND_REFUSED = (
    "Bind-style volumes (o=bind, device=…) mount a host path: only admins may create them."
)
BIND_SHAPE = (
    "A bind-style volume needs driver local and exactly the options type=none, o=bind "
    "(or rbind, optionally with ro) and device=/host/path."
)
BIND_O_FLAGS = {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec"}


class VolumeForm(forms.Form):
    # The checked host path of a bind-style volume (for the audit log), else "".
    bind_source = ""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Only drivers the engine has: a driver name is a plugin the engine loads by name
        # (a path-like one made it mount the host's /), checked here before it is asked.
        try:
            drivers = gateway.volumes.volume_drivers()
        except gateway.GatewayError:
            drivers = (LOCAL_DRIVER,)
        self.fields["driver"].choices = [(d, d) for d in drivers]

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=255,
        help_text="Leave empty for an anonymous volume (the engine picks a random name).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "data_volume"}),
    )
    driver = forms.ChoiceField(
        label="Driver",
        initial=LOCAL_DRIVER,
        help_text="local stores the data on the engine's disk; other choices are the volume "
        "plugins installed on the engine.",
        error_messages={"invalid_choice": "“%(value)s” is not a volume driver this engine offers."},
    )
    driver_opts = forms.CharField(
        label="Driver options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "KEY=VALUE, one per line"}),
        help_text="KEY=VALUE lines passed to the driver.",
    )
    labels = forms.CharField(
        label="Labels",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "KEY=VALUE, one per line"}),
        help_text="KEY=VALUE lines.",
    )

    def clean_name(self):
        value = self.cleaned_data["name"].strip()
        if value and not OBJECT_NAME_RE.match(value):
            raise ValidationError(
                "A volume name is at least 2 characters: a letter or digit, then letters, "
                "digits, _ . or -."
            )
        return value

    def clean_driver_opts(self):
        options = parse_key_values(
            self.cleaned_data["driver_opts"], what="driver option", key_re=OPTION_KEY_RE
        )
        if is_bind_style(options):
            options = self._checked_bind(options)
        return options

    def _checked_bind(self, options: dict[str, str]) -> dict[str, str]:
        """The one bind rule (dockerweb.host_access.binds) for `device`; the real path goes in."""
        if not getattr(self.user, "is_superuser", False):
            raise ValidationError(BIND_REFUSED)
        flags = {flag.strip() for flag in options.get("o", "").split(",")}
        if (
            self.cleaned_data.get("driver") != "local"
            or set(options) != {"type", "o", "device"}
            or options["type"] != "none"
            or not flags & {"bind", "rbind"}
            or not flags <= BIND_O_FLAGS
        ):
            raise ValidationError(BIND_SHAPE)
        device = options["device"].strip()
        try:
            self.bind_source = check_bind_source(device, self.user)
        except ValidationError as exc:
            raise ValidationError(f"device “{device}”: {exc.messages[0]}") from None
        return {**options, "device": self.bind_source}

    def clean_labels(self):
        return parse_labels(self.cleaned_data["labels"])
