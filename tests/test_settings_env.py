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
