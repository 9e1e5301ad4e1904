"""Image URLs: every reference a user can name has exactly one URL per image view, and that URL
leads back to the same view and the same reference (no name can pass for a route word)."""

import html
import re
from urllib.parse import unquote

import pytest
from django.urls import Resolver404, resolve, reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerweb.references import IMAGE_ID_RE, REFERENCE_RE, reference_problem
from dockerweb.url_converters import ImageRefConverter
from images import urls as image_urls
from tests.engine import unique_name

HEX = "0123456789abcdef" * 4
DIGEST = f"sha256:{HEX}"

# Named like the routes' words, like other routes, with every part the grammar has.
TRICKY = [
    "push",
    "remove",
    "tag",
    "view",
    "pull",
    "build",
    "prune",
    "search",
    "registries",
    "myorg/push",
    "myorg/remove",
    "myorg/tag",
    "myorg/view",
    "tag/x",
    "push/remove/tag/view",
    "view/push:remove",
    "registries/1/delete",
    "a/b/c:1",
    "a",
    "a:b",
    "busybox:latest",
    "library/busybox:1.36",
    "docker.io/library/busybox:1.36",
    "localhost/x",
    "localhost:5000/x/y:latest",
    "localhost:5000/push",
    "localhost:5000/push:remove",
    "registry.example.com/myorg/push:tag",
    "Registry.Example.com:443/x",
    "[::1]:5000/x/y:latest",
    "[fe80::1]/push",
    "a__b/c-d.e_f/g--h:T_1.-x",
    "x:" + "t" * 128,
    "/".join(["p"] * 40) + ":1",
    f"x@{DIGEST}",
    f"push@{DIGEST}",
    f"myorg/push:1@{DIGEST}",
    f"localhost:5000/x/y:latest@{DIGEST}",
    f"x@sha512:{HEX}{HEX}",
    f"x@a+b.c_d-e:{HEX[:32]}",
    DIGEST,
    HEX,
    HEX[:12],
    f"sha256:{HEX[:12]}",
]

# Every route of the images app that takes an image reference, read from the URLconf, so a
# new one is checked without being listed here.
IMAGE_VIEWS = sorted(
    f"images:{pattern.name}"
    for pattern in image_urls.urlpatterns
    if any(isinstance(c, ImageRefConverter) for c in pattern.pattern.converters.values())
)


def served(path: str):
    """What the portal runs for `path`: the server decodes %-escapes before resolving."""
    return resolve(unquote(path))


def assert_round_trip(view: str, reference: str) -> None:
    path = reverse(view, kwargs={"reference": reference})
    match = served(path)
    assert (match.view_name, match.kwargs) == (view, {"reference": reference}), path


def test_the_corpus_is_made_of_references_the_portal_accepts():
    assert not {ref: reference_problem(ref) for ref in TRICKY if reference_problem(ref)}


def test_every_image_view_taking_a_reference_is_checked():
    assert IMAGE_VIEWS == ["images:detail", "images:push", "images:remove", "images:tag"]


@pytest.mark.parametrize("reference", TRICKY)
@pytest.mark.parametrize("view", IMAGE_VIEWS)
def test_a_tricky_reference_round_trips_through_every_image_view(view, reference):
    assert_round_trip(view, reference)


def test_urls_are_readable_verb_first_and_reference_as_typed():
    assert reverse("images:detail", args=["localhost:5000/x/y:latest"]) == (
        "/engines/local/images/view/localhost:5000/x/y:latest/"
    )
    assert reverse("images:push", args=["myorg/push"]) == "/engines/local/images/push/myorg/push/"
    assert (
        reverse("images:remove", args=[f"x@{DIGEST}"])
        == f"/engines/local/images/remove/x@{DIGEST}/"
    )
    assert reverse("images:tag", args=[DIGEST]) == f"/engines/local/images/tag/{DIGEST}/"


def test_the_fixed_routes_are_not_shadowed_by_references():
    for name in ("list", "pull", "build", "prune", "search", "registries"):
        assert served(reverse(f"images:{name}")).view_name == f"images:{name}"
    assert (
        served("/engines/local/images/registries/7/delete/").view_name == "images:registry-delete"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/engines/local/images/myorg/push/",  # the reference-first shape is gone: no route reads it
        "/engines/local/images/push/",  # a verb with no reference
        "/engines/local/images/view/",
        "/engines/local/images/view/a//b/",
        "/engines/local/images/view/x/../y/",
        "/engines/local/images/view/Upper/case/",
        "/engines/local/images/view/x:tag/push/",  # a word after the reference is read as part of it
    ],
)
def test_paths_without_exactly_one_valid_reference_after_the_verb_resolve_to_nothing(path):
    with pytest.raises(Resolver404):
        served(path)


# -- generated references -------------------------------------------------------------------

WORDS = st.sampled_from(["push", "remove", "tag", "view", "pull", "registries", "x", "a-b"])
NAMES = st.lists(WORDS, min_size=1, max_size=6).map("/".join)
HOSTS = st.sampled_from(["", "localhost/", "localhost:5000/", "r.example:443/", "[::1]:5000/"])
TAGS = st.one_of(
    st.just(""),
    WORDS.map(lambda w: f":{w}"),
    st.from_regex(r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
)
DIGESTS = st.sampled_from(["", f"@{DIGEST}"])
ROUTE_LIKE = st.builds(lambda *parts: "".join(parts), HOSTS, NAMES, TAGS, DIGESTS)
FROM_GRAMMAR = st.from_regex(REFERENCE_RE, fullmatch=True)
IDS = st.from_regex(IMAGE_ID_RE, fullmatch=True)
REFERENCES = st.one_of(ROUTE_LIKE, FROM_GRAMMAR, IDS).filter(lambda r: not reference_problem(r))


@settings(max_examples=400, derandomize=True, deadline=None)
@given(reference=REFERENCES, view=st.sampled_from(IMAGE_VIEWS))
def test_generated_references_round_trip_through_every_image_view(reference, view):
    assert_round_trip(view, reference)


# -- through the portal -----------------------------------------------------------------------


def test_an_image_named_like_routes_has_its_own_page_and_actions(
    admin_client, docker_api, make_image
):
    """Served for real: an image `<ns>/push:remove` gets its page, not the push view, and its
    page's links and forms lead to the views for it."""
    reference, image_id = make_image(f"{unique_name('dwt-img')}/push:remove")
    _, other_id = make_image()
    other = f"localhost:5000/{unique_name('dwt-img')}/tag/view:push"
    docker_api.tag(other_id, *other.rsplit(":", 1))  # goes with the image (make_image)

    for ref in (reference, other):
        response = admin_client.get(f"/engines/local/images/view/{ref}/")
        assert response.status_code == 200, ref
        page = response.content.decode()
        assert f'<h1 class="mono">{ref}</h1>' in page
        assert f'action="/engines/local/images/tag/{ref}/"' in page
        assert f'action="/engines/local/images/push/{ref}/"' in page
        assert f'href="/engines/local/images/remove/{ref}/"' in page
        confirm = admin_client.get(f"/engines/local/images/remove/{ref}/")
        assert confirm.status_code == 200, ref
        title = re.search(r"<h1>(.*?)</h1>", confirm.content.decode(), re.S).group(1)
        assert html.unescape(re.sub(r"<[^>]+>", "", title)).endswith(f" {ref}?"), title
    by_id = admin_client.get(f"/engines/local/images/view/{image_id}/")
    assert by_id.status_code == 200 and f'href="/engines/local/images/view/{reference}/"' in (
        by_id.content.decode()
    )
