"""The Engines pages (administrators only): every engine with its health, add one (verified
before it is stored), change or remove a stored one, and who holds which role on each.

Unscoped (/settings/engines/…): these pages are about engines, not on one. Changes are
audited with engine="" and never carry key material; after one, this process reads the
stored engines again at once (other processes within engines.STORED_TTL).
"""

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.records import record
from dockerweb import engines, gateway, secret_box
from dockerweb.engine_specs import EngineSpec
from dockerweb.gateway.client import Connection

from . import health
from .forms import SECRETS, SSH, EngineForm, GrantForm, address_kind, kind_label
from .host_keys import fingerprint, key_type
from .models import EngineConfig, EngineGrant

# Verifying waits this long for the engine (a TLS or SSH handshake on a slow link included).
VERIFY_TIMEOUT = 10.0


def administrators_only(view):
    """Logged in (else the login page), and a superuser (else 403)."""

    @wraps(view)
    @login_required
    def checked(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied("Only administrators manage engines.")
        return view(request, *args, **kwargs)

    return checked


def _audit(request, action: str, name: str, *, detail: str = "", error=None) -> None:
    record(
        request.user,
        action,
        target_type="engine",
        target_id=name,
        target_name=name,
        detail=detail,
        error=error,
        engine="",  # about an engine, not on one
    )


@dataclass(frozen=True)
class EngineRow:
    name: str
    address: str
    kind: str
    declared: bool
    host_key: str = ""
    shadowed: bool = False  # stored, but a declared engine has its name

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.host_key)

    @property
    def host_key_type(self) -> str:
        return key_type(self.host_key)


def _rows() -> list[EngineRow]:
    specs = engines.specs()
    stored = {config.name: config for config in EngineConfig.objects.all()}
    rows = []
    for spec in specs.values():
        config = stored.get(spec.name) if not spec.declared else None
        rows.append(
            EngineRow(
                spec.name,
                spec.address,
                kind_label(spec.address, spec.tls is not None),
                spec.declared,
                host_key=config.ssh_host_key if config is not None else "",
            )
        )
    for name, config in stored.items():
        if specs.get(name) is not None and specs[name].declared:
            rows.append(
                EngineRow(
                    name,
                    config.address,
                    kind_label(config.address, bool(config.tls_ca)),
                    False,
                    config.ssh_host_key,
                    shadowed=True,
                )
            )
    return rows


@require_GET
@administrators_only
def engine_list(request):
    """Every engine; each one's health fills in after (the health fragment)."""
    return render(
        request, "engines/list.html", {"rows": _rows(), "uses_declared": bool(_declared_env())}
    )


def _declared_env() -> bool:
    from django.conf import settings

    return bool(settings.DOCKERWEB_ENGINES)


@require_GET
@administrators_only
def engine_health(request):
    """Out-of-band swaps, one set per engine: up/down, version, latency."""
    answers = health.statuses()
    return render(request, "engines/_health.html", {"answers": answers.values()})


def _verify(name: str, form: EngineForm, pinned: str) -> gateway.system.EngineProbe:
    """Reach the engine with what the form gives, on a connection made for this (never
    stored). Raises GatewayError."""
    tls, ssh = form.material(pinned)
    connection = Connection(form.cleaned_data["address"], VERIFY_TIMEOUT, tls, ssh)
    try:
        return gateway.system.probe(connection)
    finally:
        connection.close()


def _describe(address: str, tls: bool, answer: gateway.system.EngineProbe) -> str:
    """The audit detail: what was reached, never with what key."""
    detail = f"{kind_label(address, tls)} at {address}, Docker {answer.version}"
    if answer.host_key:
        detail += f", host key {key_type(answer.host_key)} {fingerprint(answer.host_key)}"
    return detail


def _store(config: EngineConfig, form: EngineForm, answer: gateway.system.EngineProbe) -> None:
    config.address = form.cleaned_data["address"]
    wanted = {
        "tcp": ("tls_ca", "tls_cert", "tls_key"),
        SSH: ("ssh_key",),
    }.get(address_kind(config.address), ())
    for secret in SECRETS:
        text = form.secret(secret.field) if secret.field in wanted else ""
        setattr(config, secret.field, secret_box.encrypt(text) if text else "")
    config.ssh_host_key = answer.host_key if "ssh_key" in wanted else ""
    config.save()


def _verification_failed(request, form: EngineForm, action: str, name: str, exc) -> None:
    reason = exc.reason if isinstance(exc, gateway.EngineUnavailable) else str(exc)
    form.add_error(None, f"The engine could not be verified, nothing was saved: {reason}")
    _audit(request, action, name, detail=f"verify {form.cleaned_data['address']}", error=reason)


@require_http_methods(["GET", "POST"])
@administrators_only
def add(request):
    form = EngineForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            name = form.cleaned_data["name"]
            try:
                answer = _verify(name, form, pinned="")
            except gateway.GatewayError as exc:
                _verification_failed(request, form, "engine.add", name, exc)
            else:
                config = EngineConfig(name=name, created_by=request.user)
                _store(config, form, answer)
                engines.forget_stored()
                tls = bool(config.tls_ca)
                _audit(request, "engine.add", name, detail=_describe(config.address, tls, answer))
                messages.success(request, f"Added engine {name} (Docker {answer.version}).")
                return redirect("engines:detail", engine_name=name)
    return render(request, "engines/add.html", {"form": form}, status=status)


def _engine_or_404(name: str) -> tuple[EngineSpec | None, EngineConfig | None]:
    """The engine's spec (None when a declared engine hides a stored one of its name… or it
    is gone) and its stored row (None for a declared engine). Raises Http404."""
    spec = engines.specs().get(name)
    config = EngineConfig.objects.filter(name=name).first()
    if spec is None and config is None:
        raise Http404(f"No engine named {name}.")
    if spec is not None and spec.declared:
        config = None
    return spec, config


def _grants(name: str):
    return EngineGrant.objects.filter(engine=name).select_related("user", "role")


def _detail_context(name, spec, config, form=None, grant_form=None) -> dict:
    address = spec.address if spec is not None else config.address
    return {
        "name": name,
        "spec": spec,
        "config": config,
        "address": address,
        "kind": kind_label(address, bool(spec.tls if spec else config.tls_ca)),
        "host_key": config.ssh_host_key if config else "",
        "fingerprint": fingerprint(config.ssh_host_key) if config else "",
        "form": form,
        "grant_form": grant_form or GrantForm(engine=name),
        "grants": _grants(name),
        "uses_declared": _declared_env(),
    }


@require_http_methods(["GET", "POST"])
@administrators_only
def detail(request, engine_name):
    """An engine's settings: its address and keys (stored engines: editable, verified again
    on save), and Access (grants)."""
    spec, config = _engine_or_404(engine_name)
    if config is None and request.method == "POST":
        raise PermissionDenied("A declared engine is changed in the environment, not here.")
    form = (
        EngineForm(request.POST or None, request.FILES or None, config=config) if config else None
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            same_place = form.cleaned_data["address"] == config.address
            keep_pin = same_place and not form.cleaned_data.get("trust_new_host_key")
            pinned = config.ssh_host_key if keep_pin else ""
            try:
                answer = _verify(engine_name, form, pinned)
            except gateway.GatewayError as exc:
                _verification_failed(request, form, "engine.change", engine_name, exc)
            else:
                before = config.address
                _store(config, form, answer)
                engines.forget_stored()
                health.forget()
                detail = _describe(config.address, bool(config.tls_ca), answer)
                if before != config.address:
                    detail = f"was {before}; now {detail}"
                _audit(request, "engine.change", engine_name, detail=detail)
                messages.success(request, f"Saved engine {engine_name}.")
                return redirect("engines:detail", engine_name=engine_name)
    context = _detail_context(engine_name, spec, config, form)
    return render(request, "engines/detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@administrators_only
def remove(request, engine_name):
    """GET: what goes (the way to reach it, its grants) and what stays (everything on the
    engine); POST: remove."""
    # The stored row even when a declared engine now has its name: it can still go.
    config = EngineConfig.objects.filter(name=engine_name).first()
    if config is None:
        _engine_or_404(engine_name)  # 404 for no engine at all
        raise PermissionDenied("A declared engine is removed from the environment, not here.")
    grants = list(_grants(engine_name))
    if request.method == "GET":
        context = {"name": engine_name, "config": config, "grants": grants}
        return render(request, "engines/remove.html", context)
    with transaction.atomic():
        removed, _ = EngineGrant.objects.filter(engine=engine_name).delete()
        config.delete()
    engines.forget_stored()
    health.forget()
    _audit(
        request,
        "engine.remove",
        engine_name,
        detail=f"{config.address}; {removed} grant{'s' if removed != 1 else ''} removed",
    )
    messages.success(
        request,
        f"Removed engine {engine_name} and {removed} grant{'s' if removed != 1 else ''} on it. "
        "Its containers, images and volumes are untouched.",
    )
    return redirect("engines:list")


@require_POST
@administrators_only
def grant(request, engine_name):
    spec, config = _engine_or_404(engine_name)
    form = GrantForm(request.POST, engine=engine_name)
    if not form.is_valid():
        context = _detail_context(engine_name, spec, config, grant_form=form)
        if config is not None:
            context["form"] = EngineForm(config=config)
        return render(request, "engines/detail.html", context, status=400)
    user, role = form.cleaned_data["user"], form.cleaned_data["role"]
    EngineGrant.objects.create(engine=engine_name, user=user, role=role, granted_by=request.user)
    _audit(request, "engine.grant", engine_name, detail=f"{user.username} is {role.name}")
    messages.success(request, f"{user.username} is {role.name} on {engine_name}.")
    return redirect("engines:detail", engine_name=engine_name)


@require_POST
@administrators_only
def revoke(request, engine_name, grant_id):
    found = EngineGrant.objects.filter(pk=grant_id, engine=engine_name).select_related(
        "user", "role"
    )
    held = found.first()
    if held is None:
        raise Http404("No such grant on this engine.")
    held.delete()
    what = f"{held.user.username} is no longer {held.role.name}"
    _audit(request, "engine.revoke", engine_name, detail=what)
    messages.success(request, f"{what} on {engine_name}.")
    return redirect("engines:detail", engine_name=engine_name)
