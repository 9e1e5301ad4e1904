"""The Engines pages' forms: an engine (add, edit) and a grant (a role on one engine).

An engine form checks what it can by itself (name, address, that certificates and keys are
PEM of the right kind); whether the engine answers with them is the view's verification.
Certificates and keys come pasted or as an uploaded file; on the edit form an empty one
keeps what is stored.
"""

import urllib.parse
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django import forms
from django.contrib.auth.models import Group, User

from dockerweb import engines
from dockerweb.engine_specs import SshMaterial, TlsMaterial, valid_name

from .models import EngineConfig, EngineGrant

# A certificate chain or a key is a few KB; more is not one.
MAX_PEM = 64 * 1024
LOCAL, TCP, SSH = "unix", "tcp", "ssh"
KEEP = "Stored; leave empty to keep."


@dataclass(frozen=True)
class Secret:
    field: str
    label: str
    help: str


SECRETS = (
    Secret(
        "tls_ca", "CA certificate", "For tcp://: the CA that signed the engine's certificate (PEM)."
    ),
    Secret("tls_cert", "Client certificate", "For tcp://: the portal's certificate (PEM)."),
    Secret("tls_key", "Client key", "For tcp://: the key of that certificate (PEM)."),
    Secret(
        "ssh_key", "SSH private key", "For ssh://: a key the engine host accepts (no passphrase)."
    ),
)


def address_kind(address: str) -> str:
    return urllib.parse.urlsplit(address).scheme


def kind_label(address: str, tls: bool) -> str:
    kind = address_kind(address)
    if kind == LOCAL:
        return "local socket"
    if kind == SSH:
        return "SSH"
    return "TCP+TLS" if tls else "TCP"


def address_problem(address: str) -> str:
    """Why `address` can't be an engine's address, or ""."""
    try:
        parsed = urllib.parse.urlsplit(address)
        port = parsed.port
    except ValueError:
        return "The port is not a number from 1 to 65535."
    if any(c.isspace() or ord(c) < 32 for c in address):
        return "An address has no spaces or control characters."
    if parsed.scheme == LOCAL:
        if parsed.netloc or not parsed.path.startswith("/") or parsed.query or parsed.fragment:
            return "A local socket is unix:// and an absolute path: unix:///var/run/docker.sock."
        return ""
    if parsed.scheme == TCP:
        if not parsed.hostname or port is None or parsed.username or parsed.password:
            return "A TCP engine is tcp://host:port, e.g. tcp://10.0.0.5:2376."
        if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
            return "A TCP engine is tcp://host:port, nothing more."
        return ""
    if parsed.scheme == SSH:
        if not parsed.hostname or not parsed.username or parsed.password:
            return "An SSH engine is ssh://user@host or ssh://user@host:port."
        if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
            return "An SSH engine is ssh://user@host[:port], nothing more."
        return ""
    return "The address starts with unix://, tcp:// or ssh://."


def _pem_problem(field: str, text: str) -> str:
    data = text.encode()
    try:
        if field == "tls_key":
            load_pem_private_key(data, password=None)
        elif field in ("tls_ca", "tls_cert"):
            x509.load_pem_x509_certificates(data)
        return ""
    except TypeError:
        return "The key is protected by a passphrase: give one without."
    except ValueError:
        return "Not PEM text of the right kind."


class EngineForm(forms.Form):
    """Add (`config` None) or change a stored engine. `material()` and `address` after
    is_valid() give what the view verifies and stores."""

    name = forms.CharField(
        label="Name",
        max_length=40,
        help_text="Lower-case letters, digits and dashes: it appears in the engine's URLs.",
    )
    address = forms.CharField(
        label="Address",
        max_length=300,
        help_text="unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host[:port]",
    )

    def __init__(self, *args, config: EngineConfig | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = config
        for secret in SECRETS:
            stored = bool(config is not None and getattr(config, secret.field))
            self.fields[secret.field] = forms.CharField(
                label=secret.label,
                required=False,
                strip=True,
                max_length=MAX_PEM,
                widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
                help_text=f"{KEEP} {secret.help}"
                if stored
                else f"Pasted, or a file below. {secret.help}",
            )
            self.fields[f"{secret.field}_file"] = forms.FileField(
                label=f"{secret.label} file", required=False
            )
        if config is not None:
            del self.fields["name"]
            self.fields["address"].initial = config.address
            if config.ssh_host_key:
                self.fields["trust_new_host_key"] = forms.BooleanField(
                    label="Trust the host key the server presents now",
                    required=False,
                    help_text="Only after the engine's host was reinstalled: the pinned key is replaced.",
                )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not valid_name(name):
            raise forms.ValidationError(
                "Use 1 to 40 lower-case letters, digits and dashes, starting and ending with "
                "a letter or digit."
            )
        if name in engines.declared_specs():
            raise forms.ValidationError(f"An engine named {name} is declared in the environment.")
        if EngineConfig.objects.filter(name=name).exists():
            raise forms.ValidationError(f"An engine named {name} exists already.")
        return name

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip()
        problem = address_problem(address)
        if problem:
            raise forms.ValidationError(problem)
        return address

    def _given(self, field: str) -> str:
        """The pasted text or the uploaded file of one secret ("" if neither)."""
        pasted = self.cleaned_data.get(field) or ""
        upload = self.cleaned_data.get(f"{field}_file")
        if upload is None:
            return pasted
        if upload.size > MAX_PEM:
            self.add_error(f"{field}_file", "Too big for a certificate or a key.")
            return ""
        try:
            text = upload.read().decode("utf-8").strip()
        except UnicodeDecodeError:
            self.add_error(f"{field}_file", "Not a text file (PEM).")
            return ""
        if pasted and pasted != text:
            self.add_error(f"{field}_file", "Give it pasted or as a file, not both.")
            return ""
        return text

    def clean(self):
        cleaned = super().clean()
        self.given = {secret.field: self._given(secret.field) for secret in SECRETS}
        address = cleaned.get("address")
        if not address:
            return cleaned
        kind = address_kind(address)
        wanted = {TCP: ("tls_ca", "tls_cert", "tls_key"), SSH: ("ssh_key",)}.get(kind, ())
        for secret in SECRETS:
            text = self.given[secret.field]
            if secret.field not in wanted:
                if text:
                    self.add_error(secret.field, f"Not used by a {kind}:// engine: leave it empty.")
                continue
            if not text and not self._stored(secret.field):
                self.add_error(
                    secret.field,
                    "Required: a tcp:// engine is reached with TLS only (plain TCP would give "
                    "root on its host to anyone who reaches the port)."
                    if kind == TCP
                    else "Required for an ssh:// engine.",
                )
            elif text:
                problem = _pem_problem(secret.field, text)
                if problem:
                    self.add_error(secret.field, problem)
        return cleaned

    def _stored(self, field: str) -> str:
        """The decrypted stored secret, "" if none (or on the add form)."""
        if self.config is None or not getattr(self.config, field):
            return ""
        from dockerweb import secret_box

        return secret_box.decrypt(getattr(self.config, field))

    def secret(self, field: str) -> str:
        """After is_valid(): the new text, else the stored one."""
        return self.given[field] or self._stored(field)

    def material(self, pinned_host_key: str) -> tuple[TlsMaterial | None, SshMaterial | None]:
        """After is_valid(): what the engine is reached with. `pinned_host_key`: the SSH host
        key to insist on ("" to learn the one presented)."""
        kind = address_kind(self.cleaned_data["address"])
        if kind == TCP:
            tls = TlsMaterial(
                self.secret("tls_ca"), self.secret("tls_cert"), self.secret("tls_key")
            )
            return tls, None
        if kind == SSH:
            return None, SshMaterial(self.secret("ssh_key"), pinned_host_key)
        return None, None


class GrantForm(forms.Form):
    """`user` holds `role` on the page's engine."""

    user = forms.ModelChoiceField(
        label="User",
        queryset=User.objects.filter(is_active=True, is_superuser=False).order_by("username"),
        help_text="Administrators hold every role on every engine already.",
    )
    role = forms.ModelChoiceField(
        label="Role",
        queryset=Group.objects.order_by("name"),
        help_text="Viewer, Operator or any role defined under Users & roles.",
    )

    def __init__(self, *args, engine: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.engine = engine

    def clean(self):
        cleaned = super().clean()
        user, role = cleaned.get("user"), cleaned.get("role")
        if user and role:
            if EngineGrant.objects.filter(engine=self.engine, user=user, role=role).exists():
                raise forms.ValidationError(f"{user} is {role} on {self.engine} already.")
            if user.groups.filter(pk=role.pk).exists():
                raise forms.ValidationError(
                    f"{user} is {role} on every engine already (Users & roles)."
                )
        return cleaned
