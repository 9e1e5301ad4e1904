"""The image list (one row per tag, live), an image's page and Docker Hub search."""

import html
import re
from urllib.parse import quote

import docker.errors
import pytest
from django.utils.cache import has_vary_header
from playwright.sync_api import expect

from tests.engine import LABEL_KEY, SESSION, TEST_LABELS, settle_model, unique_name


def new_container(docker_api, image: str, name: str | None = None) -> str:
    """A stopped container made from `image` (removed with the image by make_image)."""
    created = docker_api.create_container(
        image, command=["sleep", "60"], name=name or unique_name(), labels=TEST_LABELS
    )
    settle_model(created["Id"])  # the pages read the live model, which learns it from events
    return created["Id"]


def table_rows(page: str) -> list[dict[str, str]]:
    """The attributes of each row of the image table."""
    rows = []
    for tag in re.findall(r"<tr data-image-row[^>]*>", page):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        attributes["dangling"] = " data-dangling" in tag
        rows.append(
            {k: html.unescape(v) if isinstance(v, str) else v for k, v in attributes.items()}
        )
    return rows


def row_cells(page: str, reference: str) -> str:
    """The text of the row whose links address `reference`."""
    match = re.search(
        rf'<tr data-image-row[^>]*data-reference="{re.escape(reference)}"[^>]*>(.*?)</tr>',
        page,
        re.S,
    )
    assert match, f"no row for {reference}"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


# -- list ---------------------------------------------------------------------------------


def test_image_list_shows_one_row_per_tag_and_marks_dangling_images(
    admin_client, docker_api, make_image
):
    reference, image_id = make_image()
    repository = reference.split(":")[0]
    docker_api.tag(image_id, repository, "2")
    # Importing a second image under the same tag leaves the first one without a tag.
    dangling_reference, dangling_id = make_image()
    _, newer_id = make_image(dangling_reference)
    assert newer_id != dangling_id

    response = admin_client.get("/engines/local/images/")

    assert response.status_code == 200
    page = response.content.decode()
    rows = table_rows(page)
    mine = [r for r in rows if r["data-image-id"] == image_id]
    assert sorted(r["data-reference"] for r in mine) == [f"{repository}:1", f"{repository}:2"]
    assert not any(r["dangling"] for r in mine)
    (dangling_row,) = [r for r in rows if r["data-image-id"] == dangling_id]
    assert dangling_row["dangling"]
    assert dangling_row["data-reference"] == dangling_id
    assert "dangling" in row_cells(page, dangling_id)
    (newer_row,) = [r for r in rows if r["data-image-id"] == newer_id]
    assert newer_row["data-reference"] == dangling_reference and not newer_row["dangling"]
    cells = row_cells(page, f"{repository}:2")
    assert image_id.removeprefix("sha256:")[:12] in cells
    assert "MB" in cells, "the size is not shown in human units"
    assert " ago" in cells


def test_image_list_counts_the_containers_using_each_image(admin_client, docker_api, make_image):
    used, _ = make_image()
    unused, _ = make_image()
    new_container(docker_api, used)
    new_container(docker_api, used)

    page = admin_client.get("/engines/local/images/").content.decode()

    assert "2 containers" in row_cells(page, used)
    assert "none" in row_cells(page, unused)


def test_image_list_filters_by_name_and_offers_a_live_filter_box(admin_client, make_image):
    wanted, _ = make_image()
    other, _ = make_image()
    needle = wanted.split(":")[0]

    page = admin_client.get("/engines/local/images/", {"q": needle}).content.decode()

    references = [r["data-reference"] for r in table_rows(page)]
    assert references == [wanted]
    assert other not in page
    # The box filters in the browser too: live.js hides rows whose data-search misses it.
    assert 'data-filter-target="#image-rows"' in page
    assert '<tbody id="image-rows">' in page
    for href in (
        "/engines/local/images/pull/",
        "/engines/local/images/build/",
        "/engines/local/images/prune/",
    ):
        assert f'href="{href}"' in page, href


def test_image_list_partial_is_the_filters_and_the_table_alone(admin_client, make_image):
    reference, _ = make_image()

    response = admin_client.get("/engines/local/images/", headers={"HX-Request": "true"})

    body = response.content.decode().strip()
    assert body.startswith('<fieldset class="image-filter"') and body.endswith("</table>")
    assert '<tbody id="image-rows">' in body
    assert reference in [r["data-reference"] for r in table_rows(body)]
    assert "<html" not in body
    assert has_vary_header(response, "HX-Request")


def test_image_list_page_says_it_varies_with_hx_request(admin_client):
    """The page and its fragment share a URL: without Vary a cache (the back button too)
    could show the bare table body as the page."""
    response = admin_client.get("/engines/local/images/")

    assert response.status_code == 200 and "<html" in response.content.decode()
    assert has_vary_header(response, "HX-Request"), response.get("Vary")


# -- detail -------------------------------------------------------------------------------


def test_image_detail_shows_tags_history_containers_and_a_run_button(
    admin_client, docker_api, make_image
):
    reference, image_id = make_image()
    repository = reference.split(":")[0]
    docker_api.tag(image_id, repository, "other")
    container_name = unique_name("user")
    new_container(docker_api, reference, container_name)

    response = admin_client.get(f"/engines/local/images/view/{reference}/")

    assert response.status_code == 200
    page = response.content.decode()
    tags = re.search(r"<section class=\"panel\" data-image-tags>(.*?)</section>", page, re.S)
    assert f"{repository}:1" in tags.group(1) and f"{repository}:other" in tags.group(1)
    history = re.search(r"<table[^>]*data-image-history>(.*?)</table>", page, re.S).group(1)
    assert "Imported from -" in history, "the layer history is missing"
    using = re.search(r"data-image-containers>(.*?)</section>", page, re.S).group(1)
    assert f'<a href="/engines/local/containers/{container_name}/">{container_name}</a>' in using
    assert (
        f'href="/engines/local/containers/new/advanced/?image={quote(reference, safe="")}"' in page
    )
    assert f'action="/engines/local/images/tag/{reference}/"' in page
    assert f'action="/engines/local/images/push/{reference}/"' in page
    assert f'href="/engines/local/images/remove/{reference}/"' in page
    inspect = html.unescape(re.search(r'<pre class="inspect-json"[^>]*>(.*?)</pre>', page, re.S)[1])
    assert f'"Id": "{image_id}"' in inspect
    assert LABEL_KEY in page and SESSION in page, "the image's labels are missing"
    assert "PATH=/bin" in page, "the image's environment is missing"


def test_image_detail_by_id_of_an_unknown_image_is_404(admin_client):
    assert admin_client.get(f"/engines/local/images/view/{'0' * 64}/").status_code == 404
    assert admin_client.get("/engines/local/images/view/dwt-no-such/image:nope/").status_code == 404


# -- Docker Hub search --------------------------------------------------------------------


def hub_reachable(docker_api) -> bool:
    try:
        docker_api.search("busybox", limit=1)
    except docker.errors.APIError:
        return False
    return True


def test_hub_search_says_clearly_when_the_engine_cannot_reach_the_hub(admin_client, docker_api):
    response = admin_client.get("/engines/local/images/search/", {"q": "busybox"})

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    if hub_reachable(docker_api):  # an engine with a way out: results instead
        assert "data-hub-results" in page and "busybox" in page
        return
    problem = re.search(r"<div[^>]*data-hub-problem>(.*?)</div>", page, re.S)
    assert problem, "no message about the Hub"
    assert problem.group(1).startswith("Docker Hub can't be reached from the engine: ")
    assert "index.docker.io" in problem.group(1), "the engine's reason is not shown"


def test_the_image_list_offers_the_hub_search_box(admin_client):
    page = admin_client.get("/engines/local/images/").content.decode()
    assert 'action="/engines/local/images/search/"' in page
    assert '<label for="hub-q">Search Docker Hub</label>' in page
    assert admin_client.get("/engines/local/images/search/").status_code == 200


# -- live ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_image_list_shows_a_tag_made_with_the_cli_without_reload(
    admin_page, portal, docker_api, make_image
):
    reference, image_id = make_image()
    repository = reference.split(":")[0]
    page = admin_page
    page.goto(f"{portal.url}/engines/local/images/")
    expect(page.locator(f'tr[data-reference="{reference}"]')).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "connected")
    page.evaluate("window.__sameDocument = true")
    # Filtering keeps applying to rows that arrive live.
    page.get_by_label("Filter images").fill(repository)

    docker_api.tag(image_id, repository, "live")

    expect(page.locator(f'tr[data-reference="{repository}:live"]')).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    unrelated = page.locator("tr[data-image-row]:not([hidden])")
    expect(unrelated).to_have_count(2)

    docker_api.remove_image(f"{repository}:live")

    expect(page.locator(f'tr[data-reference="{repository}:live"]')).to_have_count(0)
