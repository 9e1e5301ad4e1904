"""Brute-force protection, tried the way an attacker would: the real portal under Daphne, the
login forms as served, many wrong passwords over HTTP, then the right one.

Every test here uses a portal of its own: the shared `portal` fixture is logged into from
127.0.0.1 by the whole suite, and a locked address would lock every other test out.
"""

import re

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.conftest import start_portal, stop_portal
from tests.engine import wait_for

LIMIT = 5
ALICE_PASSWORD = "alice-right-password-1"  # noqa: S105 - a test user's password
BOB_PASSWORD = "bob-right-password-1"  # noqa: S105 - a test user's password
LOCKED_MESSAGE = "Too many failed log-ins"


def _own_portal(tmp_path_factory, cooloff_minutes: str):
    portal, process = start_portal(
        tmp_path_factory.mktemp("throttle"),
        {
            "DOCKERWEB_LOGIN_FAILURE_LIMIT": str(LIMIT),
            "DOCKERWEB_LOGIN_COOLOFF_MINUTES": cooloff_minutes,
        },
    )
    portal.create_user("alice", ALICE_PASSWORD)
    portal.create_user("bob", BOB_PASSWORD)
    return portal, process


@pytest.fixture(scope="module")
def guarded_portal(tmp_path_factory):
    """A portal of its own with the default 15-minute cool-off."""
    portal, process = _own_portal(tmp_path_factory, "15")
    yield portal
    stop_portal(process)


@pytest.fixture
def guarded(guarded_portal):
    yield guarded_portal
    # Each test starts with no failures recorded, whatever the one before it locked.
    guarded_portal.manage("axes_reset")


class FromAddress(HTTPAdapter):
    """Connections made from another loopback address: a second client machine."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def client(source: str | None = None) -> requests.Session:
    http = requests.Session()
    if source:
        http.mount("http://", FromAddress(source))
    return http


def try_login(http, portal, username, password, *, path="/login/", headers=None):
    """One attempt through the form as served: GET it (CSRF cookie and token), then POST."""
    form = http.get(f"{portal.url}{path}", timeout=10)
    form.raise_for_status()
    return http.post(
        f"{portal.url}{path}",
        data={
            "username": username,
            "password": password,
            "next": "/engines/local/containers/",
            "csrfmiddlewaretoken": http.cookies["csrftoken"],
        },
        headers={"Referer": f"{portal.url}{path}", **(headers or {})},
        allow_redirects=False,
        timeout=30,
    )


def logged_in(http, portal) -> bool:
    """Judged by the result: a session cookie and a protected page that doesn't send us away."""
    page = http.get(f"{portal.url}/engines/local/containers/", allow_redirects=False, timeout=10)
    if page.status_code == 302:
        assert "/login/" in page.headers["Location"], page.headers["Location"]
        return False
    return "sessionid" in http.cookies


def assert_locked_out_page(response):
    """The lockout answer: the login form again, 429, a message saying when to try again."""
    assert response.status_code == 429, (response.status_code, response.text[:500])
    page = response.text
    assert LOCKED_MESSAGE in page
    assert re.search(r"Try again after \d\d:\d\d", page), page
    assert 'name="password"' in page, "the lockout answer is not the login page"


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(guarded):
    attacker = client()
    answers = [try_login(attacker, guarded, "alice", f"guess-{n}").status_code for n in range(30)]
    right = try_login(attacker, guarded, "alice", ALICE_PASSWORD)

    assert_locked_out_page(right)
    assert not logged_in(attacker, guarded)
    assert "sessionid" not in attacker.cookies
    # The first wrong guesses get the ordinary form back, and from the limit on, the lockout.
    assert answers[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert set(answers[LIMIT - 1 :]) == {429}


def test_other_usernames_from_a_locked_address_are_refused(guarded):
    attacker = client()
    # A different name on each guess, and a forged X-Forwarded-For on each one: neither the
    # username lock nor a claimed address lets the attacker past the address limit.
    for n in range(LIMIT):
        try_login(
            attacker,
            guarded,
            f"nobody-{n}",
            "guess",
            headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
        )
    bob = client()  # bob, on the same machine, with his right password
    assert_locked_out_page(try_login(bob, guarded, "bob", BOB_PASSWORD))
    assert not logged_in(bob, guarded)


def test_a_locked_username_stays_locked_from_another_address(guarded):
    for n in range(LIMIT):
        try_login(client(), guarded, "alice", f"guess-{n}")  # from 127.0.0.1

    elsewhere = client("127.0.0.2")
    assert_locked_out_page(try_login(elsewhere, guarded, "alice", ALICE_PASSWORD))
    assert not logged_in(elsewhere, guarded)
    # The second address itself is not locked: bob logs in from it.
    bob = client("127.0.0.2")
    assert try_login(bob, guarded, "bob", BOB_PASSWORD).status_code == 302
    assert logged_in(bob, guarded)


def test_the_django_admin_login_is_throttled_too(guarded):
    attacker = client()
    for n in range(LIMIT):
        try_login(attacker, guarded, "admin", f"guess-{n}", path="/admin/login/")
    right = try_login(attacker, guarded, "admin", guarded.admin_password, path="/admin/login/")
    assert_locked_out_page(right)
    assert not logged_in(attacker, guarded)


def test_an_admin_unlocks_a_user_on_the_users_and_roles_pages(guarded):
    admin = guarded.session()  # logged in before the attack, from its own address
    for n in range(LIMIT):
        try_login(client("127.0.0.2"), guarded, "alice", f"guess-{n}")
    alice = client("127.0.0.2")
    assert_locked_out_page(try_login(alice, guarded, "alice", ALICE_PASSWORD))

    index = admin.get(f"{guarded.url}/admin/", timeout=10)
    assert "/admin/axes/accessattempt/" in index.text, "Users & roles has no lockout page"
    listing = admin.get(f"{guarded.url}/admin/axes/accessattempt/?q=alice", timeout=10)
    ids = re.findall(r'name="_selected_action" value="(\d+)"', listing.text)
    assert ids, listing.text[:2000]
    action = {
        "action": "delete_selected",
        "_selected_action": ids,
        "csrfmiddlewaretoken": admin.cookies["csrftoken"],
    }
    referer = {"Referer": f"{guarded.url}/admin/axes/accessattempt/"}
    admin.post(listing.url, data=action, headers=referer, timeout=10).raise_for_status()
    admin.post(
        listing.url, data={**action, "post": "yes"}, headers=referer, timeout=10
    ).raise_for_status()

    assert try_login(alice, guarded, "alice", ALICE_PASSWORD).status_code == 302
    assert logged_in(alice, guarded)


def test_manage_axes_reset_username_unlocks_a_user(guarded):
    for n in range(LIMIT):
        try_login(client("127.0.0.2"), guarded, "alice", f"guess-{n}")
    alice = client("127.0.0.3")
    assert_locked_out_page(try_login(alice, guarded, "alice", ALICE_PASSWORD))

    guarded.manage("axes_reset_username", "alice")

    assert try_login(alice, guarded, "alice", ALICE_PASSWORD).status_code == 302
    assert logged_in(alice, guarded)


def test_a_locked_user_can_log_in_again_after_the_cool_off(tmp_path_factory):
    portal, process = _own_portal(tmp_path_factory, "0.05")  # three seconds
    try:
        for n in range(LIMIT):
            try_login(client(), portal, "alice", f"guess-{n}")
        alice = client()
        assert_locked_out_page(try_login(alice, portal, "alice", ALICE_PASSWORD))
        wait_for(
            lambda: try_login(alice, portal, "alice", ALICE_PASSWORD).status_code == 302,
            timeout=30,
            interval=0.5,
            message="the cool-off to end",
        )
        assert logged_in(alice, portal)
    finally:
        stop_portal(process)


# -- the client's address behind reverse proxies -----------------------------------------


def _request(remote: str, forwarded: str | None = None):
    from django.test import RequestFactory

    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/login/", **extra)


def test_x_forwarded_for_is_ignored_unless_proxies_are_configured(settings):
    from dockerweb.login_throttle import client_address

    settings.PROXY_COUNT = 0
    assert client_address(_request("10.0.0.9", "203.0.113.7")) == "10.0.0.9"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        # One proxy: the entry it appended, whatever the client put in front of it.
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        # Two proxies: the outer one's entry, the inner proxy's own address after it.
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        # Fewer entries than proxies, or garbage: the connection's own address.
        (2, "203.0.113.7", "10.0.0.9"),
        (1, "unknown", "10.0.0.9"),
        (1, "", "10.0.0.9"),
    ],
)
def test_behind_proxies_the_outermost_trusted_entry_is_the_client(
    settings, count, forwarded, expected
):
    from dockerweb.login_throttle import client_address

    settings.PROXY_COUNT = count
    assert client_address(_request("10.0.0.9", forwarded)) == expected
