"""The theme choice (Light / Dark / Automatic): kept per user on the server, rendered as
<html data-theme> from the first byte, set by a CSRF-checked POST of any logged-in user."""

import re

import pytest
from django.test import Client

from preferences.models import Preferences
from tests.users import client_for, make_user

pytestmark = pytest.mark.django_db
# A page that renders base.html without asking the engine for anything.
PAGE = "/engines/local/jobs/"


def html_theme(response) -> str:
    match = re.search(r'<html lang="en" data-theme="([^"]*)">', response.content.decode())
    assert match, response.content.decode()[:300]
    return match[1]


def pressed(response) -> list[str]:
    return re.findall(r'value="(\w+)" aria-pressed="true"', response.content.decode())


def test_automatic_until_the_user_chooses_then_their_choice_on_every_page():
    alice = client_for(make_user("alice", "jobs.view_job"))
    bob = client_for(make_user("bob", "jobs.view_job"))
    assert html_theme(alice.get(PAGE)) == "auto" and pressed(alice.get(PAGE)) == ["auto"]

    response = alice.post("/preferences/theme/", {"theme": "dark", "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert html_theme(alice.get(PAGE)) == "dark" and pressed(alice.get(PAGE)) == ["dark"]
    # Bob's pages are his own.
    assert html_theme(bob.get(PAGE)) == "auto"

    alice.post("/preferences/theme/", {"theme": "light"})
    assert html_theme(alice.get(PAGE)) == "light"
    assert Preferences.objects.get(user__username="alice").theme == "light"


def test_the_background_save_answers_204_and_keeps_the_choice():
    user = make_user("carol")
    client = client_for(user)
    response = client.post(
        "/preferences/theme/", {"theme": "dark"}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 204
    assert Preferences.objects.get(user=user).theme == "dark"


@pytest.mark.parametrize("theme", ["", "purple", "DARK", "auto "])
def test_an_unknown_theme_is_refused_and_nothing_is_kept(theme):
    client = client_for(make_user("dave"))
    response = client.post("/preferences/theme/", {"theme": theme})
    assert response.status_code == 400
    assert not Preferences.objects.exists()


@pytest.mark.parametrize(
    "back", ["https://evil.example/", "//evil.example/x", "javascript:x", "home", "x", "²", ""]
)
def test_the_way_back_never_leaves_the_portal(back):
    client = client_for(make_user("erin"))
    response = client.post("/preferences/theme/", {"theme": "dark", "next": back})
    assert response.status_code == 302 and response["Location"] == "/engines/local/"


def test_only_a_logged_in_post_with_its_csrf_token_sets_it():
    anonymous = Client()
    response = anonymous.post("/preferences/theme/", {"theme": "dark"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")

    user = make_user("frank")
    assert client_for(user).get("/preferences/theme/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/preferences/theme/", {"theme": "dark"}).status_code == 403
    assert not Preferences.objects.exists()


def test_the_login_page_follows_the_browser():
    response = Client().get("/login/")
    assert "data-theme" not in response.content.decode().split(">", 2)[1]
