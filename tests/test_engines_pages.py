"""The Engines pages: administrators only; an engine is verified before it is stored (TLS with
the session's second dockerd, SSH with the session's sshd), its keys are stored encrypted and
never audited; an SSH engine's host key is pinned; removing asks first and takes the grants
on the engine with it; grants are given and removed, audited; health shows a down engine."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from dockerweb import engines, gateway, secret_box
from dockerweb.engine_specs import TlsMaterial
from dockerweb.gateway.client import Connection
from engines import health
from engines.host_keys import fingerprint
from engines.models import EngineConfig, EngineGrant
from tests.engine import free_port, unique_name, wait_for
from tests.extra_dockerd import TlsSet
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Each test reads the stored engines and their health anew."""
    engines.forget_stored()
    health.forget()
    yield
    engines.forget_stored()
    health.forget()


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def tls_post(name: str, address: str, tls, **overrides) -> dict:
    return {
        "name": name,
        "address": address,
        "tls_ca": tls.ca,
        "tls_cert": tls.client.cert,
        "tls_key": tls.client.key,
        **overrides,
    }


def assert_no_key_material(*texts: str) -> None:
    for entry in AuditEntry.objects.all():
        for text in texts:
            body = text.strip().splitlines()[1]  # a line of the base64 body
            assert body not in entry.detail, entry.action


def test_only_administrators_reach_the_engines_pages_and_see_them_in_the_nav(admin_client):
    operator = client_for(make_user("engines-operator", groups=("Operator",)))
    paths = [
        reverse("engines:list"),
        reverse("engines:health"),
        reverse("engines:add"),
        reverse("engines:detail", args=["local"]),
        reverse("engines:remove", args=["local"]),
    ]
    posts = [
        reverse("engines:add"),
        reverse("engines:detail", args=["local"]),
        reverse("engines:remove", args=["local"]),
        reverse("engines:grant", args=["local"]),
        reverse("engines:revoke", args=["local", 1]),
    ]
    for path in paths:
        assert operator.get(path).status_code == 403, path
        anonymous = Client().get(path)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"], path
    for path in posts:
        assert operator.post(path, {"name": "x", "address": "unix:///x"}).status_code == 403, path
    assert not EngineConfig.objects.exists()
    nav_link = f'href="{reverse("engines:list")}"'
    assert nav_link not in operator.get(reverse("volumes:list")).content.decode()
    page = admin_client.get(reverse("engines:list"))
    assert page.status_code == 200 and nav_link in page.content.decode()
    # The declared engine is listed, read-only, with a note saying where it comes from.
    assert 'data-engine="local"' in page.content.decode()
    local = admin_client.get(reverse("engines:detail", args=["local"])).content.decode()
    assert (
        "data-declared-note" in local and "DOCKER_HOST" in local and "Verify and save" not in local
    )
    assert admin_client.post(reverse("engines:detail", args=["local"])).status_code == 403
    assert admin_client.post(reverse("engines:remove", args=["local"])).status_code == 403


def test_names_are_slugs_and_never_a_declared_engines(admin_client):
    for name, problem in [("local", "declared in the environment"), ("Bad Name", "lower-case")]:
        response = admin_client.post(
            reverse("engines:add"), {"name": name, "address": "unix:///var/run/docker.sock"}
        )
        assert response.status_code == 400 and problem in response.content.decode(), name
    response = admin_client.post(
        reverse("engines:add"), {"name": "plain", "address": "tcp://127.0.0.1:2375"}
    )
    assert response.status_code == 400 and "reached with TLS only" in response.content.decode()
    assert not EngineConfig.objects.exists()


def test_a_tls_engine_is_verified_stored_encrypted_changed_and_removed(admin_client, tls_dockerd):
    tls = tls_dockerd.tls
    name = unique_name("tls").lower()[:40].strip("-")
    add = reverse("engines:add")

    # A wrong CA: a clear error on the form, nothing stored, a failed attempt in the trail.
    other_ca = TlsSet.make("other").ca
    response = admin_client.post(add, tls_post(name, tls_dockerd.tcp_address, tls, tls_ca=other_ca))
    assert response.status_code == 400
    assert "could not be verified, nothing was saved" in response.content.decode()
    assert "not trusted" in response.content.decode()
    assert not EngineConfig.objects.filter(name=name).exists()
    assert [e.outcome for e in entries("engine.add")] == [AuditEntry.Outcome.FAILED]

    # Right material, the key uploaded as a file: verified and stored encrypted.
    data = tls_post(name, tls_dockerd.tcp_address, tls, tls_key="")
    data["tls_key_file"] = SimpleUploadedFile("key.pem", tls.client.key.encode())
    response = admin_client.post(add, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = EngineConfig.objects.get(name=name)
    assert "PRIVATE KEY" not in stored.tls_key and "CERTIFICATE" not in stored.tls_ca
    assert secret_box.decrypt(stored.tls_key) == tls.client.key.strip()
    assert stored.created_by.username == "admin"
    added = entries("engine.add")[-1]
    assert (added.outcome, added.engine, added.target_name) == (AuditEntry.Outcome.OK, "", name)
    assert "TCP+TLS" in added.detail and tls_dockerd.tcp_address in added.detail
    assert name in engines.names()

    # Listed, healthy (the fragment), and the edit form never shows the keys again.
    listing = admin_client.get(reverse("engines:list")).content.decode()
    assert f'data-engine="{name}"' in listing and "TCP+TLS" in listing
    fragment = admin_client.get(reverse("engines:health")).content.decode()
    assert f'id="engine-state-{name}" class="engine-health engine-up"' in fragment
    edit = admin_client.get(reverse("engines:detail", args=[name])).content.decode()
    assert "Stored; leave empty to keep." in edit and "PRIVATE KEY" not in edit

    # Saved again with the keys left empty: kept, verified again, audited.
    response = admin_client.post(
        reverse("engines:detail", args=[name]), {"address": tls_dockerd.tcp_address}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert secret_box.decrypt(EngineConfig.objects.get(name=name).tls_key) == tls.client.key.strip()
    assert entries("engine.change")[-1].outcome == AuditEntry.Outcome.OK

    # Remove asks first and says what goes (the grants) and what stays (the containers).
    viewer = make_user("tls-viewer")
    EngineGrant.objects.create(engine=name, user=viewer, role=Group.objects.get(name="Viewer"))
    confirm = admin_client.get(reverse("engines:remove", args=[name])).content.decode()
    assert "tls-viewer (Viewer)" in confirm and "untouched" in confirm
    assert EngineConfig.objects.filter(name=name).exists()
    response = admin_client.post(reverse("engines:remove", args=[name]))
    assert response.status_code == 302
    assert not EngineConfig.objects.filter(name=name).exists()
    assert not EngineGrant.objects.filter(engine=name).exists()
    assert name not in engines.names()
    removed = entries("engine.remove")[-1]
    assert removed.engine == "" and "1 grant removed" in removed.detail
    assert_no_key_material(tls.client.key, tls.client.cert, tls.ca)


def test_an_ssh_engine_pins_the_host_key_and_refuses_another(admin_client, ssh_server):
    name = "ssh-" + unique_name("e").lower()[-8:].strip("-")
    response = admin_client.post(
        reverse("engines:add"),
        {"name": name, "address": ssh_server.address, "ssh_key": ssh_server.client_key},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    stored = EngineConfig.objects.get(name=name)
    assert stored.ssh_host_key == ssh_server.host_key
    assert "PRIVATE KEY" not in stored.ssh_key
    listing = admin_client.get(reverse("engines:list")).content.decode()
    assert fingerprint(ssh_server.host_key) in listing
    assert fingerprint(ssh_server.host_key) in entries("engine.add")[-1].detail
    assert "up" in health.status_of(name).state

    ssh_server.replace_host_key()
    try:

        def refused() -> bool:
            # The old login ends with the server; until the client notices, it may say less.
            health.forget()
            return "another host key" in health.status_of(name).problem

        wait_for(refused, timeout=15, message="the changed host key to be refused")
        assert not health.status_of(name).up
        # Saving again keeps insisting on the pinned key…
        edit = reverse("engines:detail", args=[name])
        response = admin_client.post(edit, {"address": ssh_server.address})
        assert response.status_code == 400 and "another host key" in response.content.decode()
        assert EngineConfig.objects.get(name=name).ssh_host_key == stored.ssh_host_key
        # …until the administrator says the new one is to be trusted.
        response = admin_client.post(
            edit, {"address": ssh_server.address, "trust_new_host_key": "on"}
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        assert EngineConfig.objects.get(name=name).ssh_host_key == ssh_server.host_key
    finally:
        for spec in list(health._connections):
            if spec.name == name:
                health._connections.pop(spec).close()
    assert_no_key_material(ssh_server.client_key)


def test_grants_are_given_and_removed_on_one_engine_and_audited(admin_client):
    user = make_user("granted-one")
    operator = Group.objects.get(name="Operator")
    detail = reverse("engines:detail", args=["local"])
    response = admin_client.post(
        reverse("engines:grant", args=["local"]), {"user": user.pk, "role": operator.pk}
    )
    assert response.status_code == 302
    held = EngineGrant.objects.get(engine="local", user=user, role=operator)
    assert held.granted_by.username == "admin"
    page = admin_client.get(detail).content.decode()
    assert 'data-grant="granted-one:Operator"' in page and "on every engine" in page
    again = admin_client.post(
        reverse("engines:grant", args=["local"]), {"user": user.pk, "role": operator.pk}
    )
    assert again.status_code == 400 and "already" in again.content.decode()
    response = admin_client.post(reverse("engines:revoke", args=["local", held.pk]))
    assert response.status_code == 302
    assert not EngineGrant.objects.exists()
    given, taken = entries("engine.grant"), entries("engine.revoke")
    assert [(e.target_name, e.engine, e.detail) for e in given] == [
        ("local", "", "granted-one is Operator")
    ]
    assert [(e.target_name, e.detail) for e in taken] == [
        ("local", "granted-one is no longer Operator")
    ]


def test_the_health_fragment_says_down_for_an_engine_nobody_listens_on(admin_client):
    tls = TlsSet.make("nobody")
    EngineConfig.objects.create(
        name="nobody-home",
        address=f"tcp://127.0.0.1:{free_port()}",
        tls_ca=secret_box.encrypt(tls.ca),
        tls_cert=secret_box.encrypt(tls.client.cert),
        tls_key=secret_box.encrypt(tls.client.key),
    )
    listing = admin_client.get(reverse("engines:list")).content.decode()
    assert 'id="engine-state-nobody-home"' in listing and "checking…" in listing
    fragment = admin_client.get(reverse("engines:health")).content.decode()
    assert 'id="engine-state-nobody-home" class="engine-health engine-down"' in fragment
    assert "connection refused" in fragment
    assert 'id="engine-state-local" class="engine-health engine-up"' in fragment


def test_the_engines_own_ca_is_trusted_whatever_requests_ca_bundle_says(
    tls_dockerd, tmp_path, monkeypatch
):
    other = tmp_path / "other-ca.pem"
    other.write_text(TlsSet.make("elsewhere").ca)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    tls = tls_dockerd.tls
    connection = Connection(
        tls_dockerd.tcp_address, 10, TlsMaterial(tls.ca, tls.client.cert, tls.client.key)
    )
    try:
        answer = gateway.system.probe(connection)
    finally:
        connection.close()
    assert answer.version and answer.latency_ms >= 0
