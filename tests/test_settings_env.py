"""Settings from the environment: typed, and loud about bad values."""

import os
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from dockerweb import env


@pytest.mark.parametrize(
    ("helper", "value", "kwargs"),
    [
        (env.env_bool, "maybe", {}),
        (env.env_int, "ten", {"default": 1}),
        (env.env_int, "0", {"default": 1, "minimum": 1, "maximum": 5}),
        (env.env_float, "-1", {"default": 1.0}),
        (env.env_docker_host, "/var/run/docker.sock", {}),
        (env.env_docker_host, "ftp://engine", {}),
        (env.env_hosts, "portal.example:http", {"default": []}),
        (env.env_hosts, "portal.example:70000", {"default": []}),
        (env.env_hosts, "[::1", {"default": []}),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(monkeypatch, helper, value, kwargs):
    monkeypatch.setenv("DOCKERWEB_TEST_SETTING", value)
    with pytest.raises(ImproperlyConfigured, match="DOCKERWEB_TEST_SETTING"):
        helper("DOCKERWEB_TEST_SETTING", **kwargs)


def test_good_values_are_typed(monkeypatch):
    monkeypatch.setenv("A_BOOL", "yes")
    monkeypatch.setenv("AN_INT", "42")
    monkeypatch.setenv("A_LIST", "a.example, b.example,,")
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")
    assert env.env_bool("A_BOOL") is True
    assert env.env_int("AN_INT", 1, minimum=1, maximum=100) == 42
    assert env.env_list("A_LIST", []) == ["a.example", "b.example"]
    assert env.env_docker_host() == "tcp://10.0.0.5:2375"


def test_allowed_hosts_may_carry_a_port(monkeypatch):
    monkeypatch.setenv("HOSTS", "docker.example.com:8443, localhost, [::1]:8000, [::1]")
    assert env.env_hosts("HOSTS", []) == [
        ("docker.example.com", 8443),
        ("localhost", None),
        ("[::1]", 8000),
        ("[::1]", None),
    ]


def test_docker_host_defaults_to_the_local_socket(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert env.env_docker_host() == "unix:///var/run/docker.sock"


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = env.persistent_secret_key(tmp_path)
    assert env.persistent_secret_key(tmp_path) == first
    assert len(first) >= 50
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


@pytest.mark.django_db
def test_ensure_admin_uses_the_given_password_and_is_idempotent(
    monkeypatch, django_user_model, capsys
):
    monkeypatch.setenv("DOCKERWEB_ADMIN_PASSWORD", "chosen-password-1")
    call_command("ensure_admin")
    call_command("ensure_admin")
    admin = django_user_model.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("chosen-password-1")
    assert django_user_model.objects.filter(username="admin").count() == 1
    assert "chosen-password-1" not in capsys.readouterr().out


@pytest.mark.django_db
def test_ensure_admin_generates_a_password_and_prints_it_once(
    monkeypatch, django_user_model, capsys
):
    monkeypatch.delenv("DOCKERWEB_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    printed = capsys.readouterr().out
    password = printed.split("password: ", 1)[1].split()[0]
    assert django_user_model.objects.get(username="admin").check_password(password)
    call_command("ensure_admin")
    assert password not in capsys.readouterr().out


# -- behind a TLS proxy -------------------------------------------------------------------


def settings_under(env: dict[str, str]) -> dict:
    """Django's settings as a fresh process reads them from this environment."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS',"
        "'SECURE_PROXY_SSL_HEADER')}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DOCKERWEB_")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env={**base, "DJANGO_SETTINGS_MODULE": "dockerweb.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tls_settings_are_off_unless_asked_for(tmp_path):
    found = settings_under({"DOCKERWEB_DATA_DIR": str(tmp_path)})
    assert found == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        # X-Forwarded-Proto is anyone's to send: not trusted unless a TLS proxy is declared.
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_tls_settings_come_from_the_environment(tmp_path):
    found = settings_under(
        {
            "DOCKERWEB_DATA_DIR": str(tmp_path),
            "DOCKERWEB_SECURE_COOKIES": "1",
            "DOCKERWEB_HSTS_SECONDS": "31536000",
            "DOCKERWEB_TRUST_X_FORWARDED_PROTO": "yes",
        }
    )
    assert found == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


@pytest.mark.django_db
def test_a_forged_x_forwarded_proto_gets_no_hsts_without_a_declared_proxy(settings, admin_user):
    from django.test import Client

    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = None
    response = Client().get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def _set_cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name, as the server sent them."""
    return {line.split("=", 1)[0]: line for line in response.raw.headers.getlist("Set-Cookie")}


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(tmp_path):
    """The real portal as a TLS proxy would talk to it: plain HTTP, X-Forwarded-Proto: https."""
    import requests

    from tests.conftest import start_portal, stop_portal

    portal, process = start_portal(
        tmp_path,
        {
            "DOCKERWEB_SECURE_COOKIES": "1",
            "DOCKERWEB_HSTS_SECONDS": "3600",
            "DOCKERWEB_TRUST_X_FORWARDED_PROTO": "1",
        },
    )
    try:
        proxied = {"X-Forwarded-Proto": "https"}
        form = requests.get(f"{portal.url}/login/", headers=proxied, timeout=10)
        assert form.headers.get("Strict-Transport-Security") == "max-age=3600"
        csrf_cookie = _set_cookies(form)["csrftoken"]
        assert "Secure" in csrf_cookie, csrf_cookie
        token = csrf_cookie.split("=", 1)[1].split(";", 1)[0]

        login = requests.post(
            f"{portal.url}/login/",
            data={
                "username": "admin",
                "password": portal.admin_password,
                "csrfmiddlewaretoken": token,
            },
            headers={
                **proxied,
                "Cookie": f"csrftoken={token}",
                "Referer": f"https://{portal.host}/login/",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert login.status_code == 302, login.text[:500]
        session_cookie = _set_cookies(login)["sessionid"]
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie, session_cookie

        # Straight to the portal, not through the proxy: plain HTTP, so no HSTS.
        direct = requests.get(f"{portal.url}/login/", timeout=10)
        assert "Strict-Transport-Security" not in direct.headers
    finally:
        stop_portal(process)
