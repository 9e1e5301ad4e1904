"""Forms for creating networks and connecting containers to them."""

import ipaddress
import re

from django import forms
from django.core.exceptions import ValidationError

from dockerweb.parsing import OBJECT_NAME_RE, parse_labels

ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CreateNetworkForm(forms.Form):
    name = forms.CharField(max_length=128)
    subnet = forms.CharField(
        required=False, max_length=64, help_text="Optional, CIDR: e.g. 10.42.0.0/24"
    )
    gateway = forms.CharField(
        required=False, max_length=64, help_text="Optional, an address inside the subnet"
    )
    internal = forms.BooleanField(
        required=False, help_text="No route to the outside: containers only reach each other"
    )
    labels = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="KEY=VALUE per line"
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not OBJECT_NAME_RE.match(name):
            raise ValidationError(
                "A network name may only contain letters, digits, _ . - , must start with a "
                "letter or digit and be at least 2 characters."
            )
        return name

    def clean_subnet(self):
        text = self.cleaned_data["subnet"].strip()
        if not text:
            return None
        try:
            subnet = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValidationError(f"“{text}” is not a subnet in CIDR form ({exc}).") from None
        if subnet.version != 4:
            raise ValidationError("Only IPv4 subnets are supported here.")
        if subnet.num_addresses < 4:
            raise ValidationError("The subnet is too small: use /30 or larger.")
        return subnet

    def clean_gateway(self):
        text = self.cleaned_data["gateway"].strip()
        if not text:
            return None
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise ValidationError(f"“{text}” is not an IP address.") from None

    def clean_labels(self):
        return parse_labels(self.cleaned_data["labels"])

    def clean(self):
        data = super().clean()
        subnet, gateway = data.get("subnet"), data.get("gateway")
        if gateway is not None and "subnet" not in self.errors:
            if subnet is None:
                self.add_error("gateway", "A gateway needs a subnet to sit in.")
            elif gateway not in subnet:
                self.add_error("gateway", f"The gateway {gateway} is not inside {subnet}.")
            elif gateway in (subnet.network_address, subnet.broadcast_address):
                self.add_error(
                    "gateway", f"{gateway} is the network or broadcast address of {subnet}."
                )
        return data


# A shorter id prefix is more likely a typo than a container: it must be a name or full id.
SHORT_ID = 12


def find_container(model, reference: str):
    """The container a user means by `reference` (a name, a full id or an id prefix of at
    least SHORT_ID characters, as the pages show them), from the live model; None if none."""
    found = model.find_container(reference)
    if found is None or reference in (found.id, found.name) or len(reference) >= SHORT_ID:
        return found
    return None


def endpoint_on(container, network):
    """A container's endpoint (gateway Endpoint) on a network, or None if it isn't on it."""
    for endpoint in container.endpoints:
        # A container that never started has no endpoint id yet: only the network's name says.
        if endpoint.network == network.name or (
            endpoint.network_id and endpoint.network_id == network.id
        ):
            return endpoint
    return None


class ConnectForm(forms.Form):
    container = forms.CharField(label="Container", max_length=256, help_text="Name or id")
    aliases = forms.CharField(
        required=False, max_length=1000, help_text="Other names on this network, comma or space"
    )
    ipv4_address = forms.CharField(
        label="Static IPv4 address", required=False, max_length=64, help_text="Optional"
    )

    def __init__(self, *args, model=None, network=None, **kwargs):
        """`model`: the engine's live model, to find the container in; `network`: the
        network to connect to (its subnets bound a static address)."""
        super().__init__(*args, **kwargs)
        self.model = model
        self.network = network
        subnets = network.subnets if network is not None else ()
        self.subnets = [ipaddress.ip_network(s, strict=False) for s in subnets]

    def clean_container(self):
        """The container's summary from the live model."""
        reference = self.cleaned_data["container"].strip()
        container = find_container(self.model, reference) if reference else None
        if container is None:
            raise ValidationError(f"There is no container “{reference}” on this engine.")
        if endpoint_on(container, self.network) is not None:
            raise ValidationError(f"{container.name} is already connected to {self.network.name}.")
        return container

    def clean_aliases(self):
        aliases = [a for a in re.split(r"[\s,]+", self.cleaned_data["aliases"]) if a]
        bad = [a for a in aliases if not ALIAS_RE.match(a) or len(a) > 253]
        if bad:
            raise ValidationError(
                f"Not a valid alias: {', '.join(bad)} (letters, digits, _ . - only)."
            )
        return list(dict.fromkeys(aliases))

    def clean_ipv4_address(self):
        text = self.cleaned_data["ipv4_address"].strip()
        if not text:
            return ""
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise ValidationError(f"“{text}” is not an IP address.") from None
        if address.version != 4:
            raise ValidationError("Give an IPv4 address.")
        subnets = [s for s in self.subnets if s.version == 4]
        if not subnets:
            raise ValidationError("A static address needs a network created with its own subnet.")
        if not any(address in s for s in subnets):
            raise ValidationError(
                f"{address} is not inside the network's subnet "
                f"({', '.join(str(s) for s in subnets)})."
            )
        if any(address in (s.network_address, s.broadcast_address) for s in subnets):
            raise ValidationError(f"{address} is the network or broadcast address.")
        return str(address)
