"""Content-Security-Policy: on every response, and nothing in our templates or scripts that it
would have to allow (inline scripts, inline handlers, eval, inline styles)."""

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.test_security import PUBLIC, all_paths, close_streaming, logged_in

BASE_DIR = Path(__file__).resolve().parent.parent
# The project's own templates: templates/ and each app's templates/ folder.
TEMPLATE_DIRS = [BASE_DIR / "templates", *sorted(BASE_DIR.glob("*/templates"))]
STATIC_JS = sorted((BASE_DIR / "static" / "js").glob("*.js"))


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_strict(response, where: str) -> None:
    directives = policy(response)
    assert directives.get("script-src") == ["'self'"], (where, directives)
    assert directives.get("default-src") == ["'self'"], (where, directives)
    assert directives.get("object-src") == ["'none'"], (where, directives)
    assert directives.get("base-uri") == ["'none'"], (where, directives)
    assert directives.get("frame-ancestors") == ["'none'"], (where, directives)
    assert directives.get("form-action") == ["'self'"], (where, directives)
    assert directives.get("connect-src") == ["'self'"], (where, directives)


# -- every response -----------------------------------------------------------------------


@pytest.fixture
def container(make_container):
    return make_container()


@pytest.mark.django_db
def test_every_route_answers_with_the_policy_for_admins_and_anonymous_users(admin_user, container):
    admin = logged_in(admin_user)
    anonymous = Client()
    paths = all_paths(container["Id"])
    for path in paths:
        for who, client in (("admin", admin), ("anonymous", anonymous)):
            response = client.get(path)
            assert_strict(response, (who, path, response.status_code))
            close_streaming(response)
    assert "/login/" in PUBLIC and "/admin/" in paths


@pytest.mark.django_db
def test_errors_posts_and_static_files_carry_the_policy_too(admin_user):
    admin = logged_in(admin_user)
    answers = {
        "404": admin.get("/no-such-page/"),
        "POST without CSRF token": Client(enforce_csrf_checks=True).post("/login/"),
        "static file": admin.get("/static/js/live.js"),
        "htmx partial": admin.get(
            "/engines/local/containers/sidebar/", headers={"HX-Request": "true"}
        ),
    }
    for what, response in answers.items():
        assert_strict(response, what)


@pytest.mark.django_db
def test_no_page_allows_inline_styles_the_admin_included(admin_user):
    admin = logged_in(admin_user)
    for path in ("/engines/local/containers/", "/login/", "/admin/", "/admin/auth/group/add/"):
        assert policy(admin.get(path))["style-src"] == ["'self'"], path


# -- nothing in our own markup or scripts that the policy would block ---------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}")


def our_templates() -> list[Path]:
    found = sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))
    assert any(path.name == "base.html" for path in found)
    return found


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        pytest.param(INLINE_SCRIPT, "an inline <script> body", id="script"),
        pytest.param(INLINE_HANDLER, "an inline event handler attribute", id="handler"),
        pytest.param(INLINE_STYLE, "an inline style", id="style"),
        pytest.param(JAVASCRIPT_URL, "a javascript: URL", id="javascript-url"),
    ],
)
def test_no_template_has_inline_code_or_styles(pattern, what):
    offenders = []
    for path in our_templates():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(TEMPLATE_COMMENT.sub("", line)):
                offenders.append(f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}")
    assert not offenders, f"{what} in:\n" + "\n".join(offenders)


BLOCKED_IN_JS = {
    "eval": re.compile(r"\beval\s*\("),
    "new Function": re.compile(r"\bnew\s+Function\b|\bFunction\s*\("),
    "string timers": re.compile(r"\bset(?:Timeout|Interval)\s*\(\s*[\"'`]"),
    "style attribute": re.compile(r"setAttribute\(\s*[\"']style|\.style\.cssText|\bstyle\s*="),
    "inline handler in markup": re.compile(r"[\"'`][^\"'`]*\son[a-z]+=", re.IGNORECASE),
}


def test_our_scripts_use_nothing_the_policy_blocks():
    assert STATIC_JS, "no static JS found"
    offenders = []
    for path in STATIC_JS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for what, pattern in BLOCKED_IN_JS.items():
                if pattern.search(line):
                    offenders.append(f"{path.name}:{number}: {what}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code():
    base = (BASE_DIR / "templates" / "base.html").read_text()
    config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', base)
    assert config, "base.html has no htmx-config meta"
    assert '"includeIndicatorStyles":false' in config[1].replace(" ", "")
    assert '"allowEval":false' in config[1].replace(" ", "")


@pytest.mark.django_db
def test_the_csrf_failure_page_is_ours_and_needs_nothing_inline(admin_user):
    """Django's built-in CSRF failure page carries an inline <style> the policy would block."""
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(admin_user)
    response = admin.post("/engines/local/containers/new/advanced/", {"image": "x"})
    assert response.status_code == 403
    page = response.content.decode()
    assert not INLINE_STYLE.search(page) and not INLINE_SCRIPT.search(page), page[:1000]
    assert "/static/css/dockerweb.css" in page
    assert "reload the page" in page
