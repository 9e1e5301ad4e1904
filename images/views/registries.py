"""Private registries: admins store the login pulls and pushes to an address use.

The secret goes in encrypted and never comes back out to a browser: the form's password
field is never re-rendered with its value, and pages show only the address and username.
"""

import re

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.records import record
from images.models import Registry

# host[:port]: what appears before the first "/" of an image name (docker.io for the Hub).
ADDRESS_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$"
)


class RegistryForm(forms.Form):
    address = forms.CharField(
        label="Address",
        max_length=255,
        help_text="host[:port] as it appears in image names, e.g. registry.example.com:5000 "
        "(docker.io for Docker Hub).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    username = forms.CharField(label="Username", max_length=255)
    secret = forms.CharField(
        label="Password or token",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted; never shown again.",
    )

    def clean_address(self):
        address = self.cleaned_data["address"].strip()
        address = re.sub(r"^[a-z]+://", "", address).rstrip("/")
        if not ADDRESS_RE.match(address):
            raise ValidationError(
                "Give the registry as host or host:port, as it appears before the first “/” "
                "of an image name."
            )
        return address


def _admins_only(request) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied("Only administrators manage registries.")


@require_http_methods(["GET", "POST"])
def registry_list(request):
    """The stored registries and a form to add one (or replace one's login)."""
    _admins_only(request)
    form = RegistryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        registry = Registry.objects.filter(address=data["address"]).first()
        replaced = registry is not None
        registry = registry or Registry(address=data["address"])
        registry.username = data["username"]
        registry.set_secret(data["secret"])
        registry.save()
        _audit(request, "registry.replace" if replaced else "registry.add", registry)
        verb = "Replaced the login for" if replaced else "Added"
        messages.success(request, f"{verb} {registry.address}.")
        return redirect("images:registries")
    context = {"form": form, "registries": Registry.objects.all()}
    return render(request, "images/registries.html", context, status=400 if form.errors else 200)


@require_POST
def registry_delete(request, pk):
    _admins_only(request)
    registry = get_object_or_404(Registry, pk=pk)
    registry_id = registry.pk  # delete() clears it
    registry.delete()
    _audit(request, "registry.delete", registry, registry_id=registry_id)
    messages.success(request, f"Removed {registry.address}.")
    return redirect("images:registries")


def _audit(request, action: str, registry: Registry, *, registry_id=None) -> None:
    record(
        request.user,
        action,
        target_type="registry",
        target_id=str(registry_id or registry.pk),
        target_name=registry.address,
        detail=f"user {registry.username}",
    )
